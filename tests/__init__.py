"""The test suites; a package so that test modules of different trees may share file names."""
