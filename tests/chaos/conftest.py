def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: a reduced `make chaos` run (real servers, faults injected)")
