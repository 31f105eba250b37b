"""manage.py dwh_export public-key | deliver | reconcile | parquet --bin BIN --out DIR [--from N --to M]"""

from django.core.management.base import BaseCommand, CommandError

from access.models import Institution


class Command(BaseCommand):
    help = "Export to БО ДБҚ: print the public key, deliver now, reconcile now, or write Parquet files."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["public-key", "deliver", "reconcile", "parquet"])
        parser.add_argument("--bin", help="institution BIN (parquet)")
        parser.add_argument("--out", help="directory (parquet)")
        parser.add_argument("--from", dest="first", type=int, default=1)
        parser.add_argument("--to", dest="last", type=int)

    def handle(self, action, **options):
        from dwh_export import parquet, services, signing
        from dwh_export.models import Counter

        if action == "public-key":
            signer = signing.deployment_signer()
            self.stdout.write(f"# key id {signer.key_id}\n" + signer.public_pem().decode())
        elif action == "deliver":
            self.stdout.write(str(services.deliver_all()))
        elif action == "reconcile":
            self.stdout.write(str(services.reconcile_all()))
        else:
            if not options["bin"] or not options["out"]:
                raise CommandError("parquet needs --bin and --out")
            institution = Institution.objects.filter(bin=options["bin"]).first()
            if institution is None:
                raise CommandError(f"no institution with BIN {options['bin']}")
            last = options["last"] or Counter.objects.filter(institution=institution).values_list(
                "last_seq", flat=True).first() or 0
            if last < options["first"]:
                raise CommandError("no events in that range")
            paths = parquet.write(institution=institution, first_seq=options["first"], last_seq=last,
                                  directory=options["out"])
            self.stdout.write("\n".join(str(p) for p in paths.values()))
