"""Tells whether this package was compiled with mypyc."""

# A mypyc-compiled module is an extension module: its file is not a .py.
COMPILED: bool = not __file__.endswith(".py")
