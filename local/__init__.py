"""The local-first stack: everything `make local` needs to run the system on one machine."""
