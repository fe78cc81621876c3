"""The `configserver` program: the command line, its settings, worker processes and the composition root."""
