"""The HTTP gateway (Tornado): the protocol document's URLs, methods and status codes over the core."""
