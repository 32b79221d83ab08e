"""jorf sources."""


def start(spider, run):
    raise NotImplementedError
