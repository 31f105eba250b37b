"""`manage.py scanner_agent …`: the scanner agent (devices/agent.py) started through Django's
manage.py at a workstation that has the code base; the options are the agent's."""

from django.core.management.base import BaseCommand

from devices import agent


class Command(BaseCommand):
    help = "Read a serial barcode scanner and send its scans to Esep through an on-disk queue."

    def add_arguments(self, parser):
        for action in agent.build_parser()._actions:
            if action.dest == "help":
                continue
            kwargs = {"dest": action.dest, "default": action.default, "help": action.help}
            if action.choices:
                kwargs["choices"] = action.choices
            if action.type:
                kwargs["type"] = action.type
            if action.required:
                kwargs["required"] = True
            if action.nargs == 0:
                kwargs["action"] = "store_true"
            parser.add_argument(*action.option_strings, **kwargs)

    def handle(self, *args, **options):
        argv = []
        for action in agent.build_parser()._actions:
            value = options.get(action.dest)
            if action.dest == "help" or value in (None, False, ""):
                continue
            argv.append(action.option_strings[-1])
            if action.nargs != 0:
                argv.append(str(value))
        raise SystemExit(agent.main(argv))
