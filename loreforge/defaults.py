"""Plain defaults of the shells (server address, paging), kept free of imports so that `loreforge --help`
starts fast. `loreforge.settings` re-exports them; nothing else defines them."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8717
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
