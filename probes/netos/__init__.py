"""Network operating systems over SSH (no POSIX shell): each module names the read-only commands
it needs (``COMMANDS``) and parses their outputs. The scanner runs each command on its own
channel of one SSH connection and frames the outputs as blocks (``@@block NAME`` ... ``@@rc N``,
see probes.base.split_blocks)."""
