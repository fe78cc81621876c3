"""configserverctl: the User API from the command line."""
