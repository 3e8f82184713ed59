"""The ``autograder`` sub-commands, one module each, exposing ``add_arguments(parser)`` and ``run(args) -> int``;
``autograder/cli.py`` lists them."""
