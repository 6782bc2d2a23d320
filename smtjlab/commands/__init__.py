"""One module per `smtjlab` subcommand; each defines `register(subparsers)`."""
