"""What every call needs whatever its transport: the RPC table, authentication, admission, metrics, TLS
material, and the request pipeline that runs them in one order."""
