"""Entry points, kept out of the core: the ``docrender`` command (cli/main.py) and the stack
runner behind ``make run`` (cli/stack.py), with the processes it starts (cli/processes.py)."""
