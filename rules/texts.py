"""Texts of the rules app in kk, ru and en, kept beside the code the way the catalogue keeps
its messages, and chosen by the active language.

The app's own few strings (service refusals, model labels) live here instead of the gettext
catalogues in locale/, so a control and its words ship together in rules/; `T(...)` is a
lazy string like gettext_lazy's, evaluated in the language active when it is shown.
"""

from django.utils.functional import lazy
from django.utils.translation import get_language

LANGUAGES = ("kk", "ru", "en")


def language() -> str:
    code = (get_language() or "ru")[:2]
    return code if code in LANGUAGES else "ru"


def localized(texts) -> str:
    """The text of a {kk, ru, en} mapping in the active language (Russian if it lacks one)."""
    return texts.get(language()) or texts.get("ru") or next(iter(texts.values()), "")


def _pick(kk: str, ru: str, en: str) -> str:
    return localized({"kk": kk, "ru": ru, "en": en})


T = lazy(_pick, str)


MESSAGES = {
    "reason_required": {
        "kk": "Себебін көрсетіңіз.",
        "ru": "Укажите причину.",
        "en": "A reason is required.",
    },
    "rule_unknown": {
        "kk": "Каталогта {code} бақылауы жоқ.",
        "ru": "В каталоге нет контроля {code}.",
        "en": "There is no control {code} in the catalogue.",
    },
    "parameter_unknown": {
        "kk": "{code} бақылауында {name} параметрі жоқ.",
        "ru": "У контроля {code} нет параметра {name}.",
        "en": "Control {code} has no parameter {name}.",
    },
    "parameter_invalid": {
        "kk": "{name} параметрінің мәні {low} мен {high} аралығындағы бүтін сан болуы тиіс.",
        "ru": "Значение параметра {name} должно быть целым числом от {low} до {high}.",
        "en": "The value of {name} must be a whole number from {low} to {high}.",
    },
    "dates_invalid": {
        "kk": "Аяқталу күні басталу күнінен ерте болмауы тиіс.",
        "ru": "Дата окончания не может быть раньше даты начала.",
        "en": "The end date cannot be before the start date.",
    },
    "rule_not_switchable": {
        "kk": "{code} бақылауын өшіруге болмайды: ол дерекқор да тексеретін шартты пайдаланушыға түсіндіреді.",
        "ru": "Контроль {code} нельзя отключить: он объясняет пользователю условие, которое проверяет и база данных.",
        "en": "Control {code} cannot be switched off: it explains to the user a condition the database also enforces.",
    },
    "deployment_only_superuser": {
        "kk": "Барлық мекемеге ортақ мәнді тек жүйе әкімшісі өзгерте алады.",
        "ru": "Значение для всех учреждений меняет только администратор системы.",
        "en": "Only the system administrator changes a value for every institution.",
    },
}


def message(key: str, /, **params) -> str:
    return localized(MESSAGES[key]).format(**params)
