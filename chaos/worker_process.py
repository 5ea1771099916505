"""The worker as a process of its own, so the chaos run can SIGKILL it: the product's own
``tada-worker`` entry point, with the settings from the environment (TADA_*)."""

from tada.worker import main

if __name__ == "__main__":
    main()
