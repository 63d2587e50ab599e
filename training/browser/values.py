"""What visitors type: plausible values per field (valid ones, and the mistakes that make a site refuse them).

Nothing typed ever leaves the page (the snippet counts keystrokes), but lengths decide keystroke counts and the
values decide what the site's validation says, so a person gets a consistent identity in the site's locale.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from .forms import CLOCK_START, COUNTRIES, COUNTRY_CODES, TAKEN_EMAILS, Field, Template

NAMES = {
    "en": (
        ("Emma", "Oliver", "Amelia", "Harry", "Sophie", "Jack", "Chloe", "Daniel"),
        ("Smith", "Jones", "Taylor", "Brown", "Walker", "Hughes"),
    ),
    "de": (
        ("Lena", "Jonas", "Hannah", "Lukas", "Marie", "Felix", "Anna"),
        ("Müller", "Schmidt", "Weber", "Wagner", "Becker", "Hoffmann"),
    ),
    "fr": (
        ("Camille", "Louis", "Chloé", "Hugo", "Léa", "Gabriel"),
        ("Martin", "Bernard", "Dubois", "Lefèvre", "Moreau", "Laurent"),
    ),
    "es": (
        ("Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Pablo"),
        ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero"),
    ),
    "pt": (
        ("Beatriz", "João", "Inês", "Tiago", "Mariana", "Rodrigo"),
        ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa"),
    ),
    "it": (
        ("Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Lorenzo"),
        ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"),
    ),
    "nl": (
        ("Emma", "Daan", "Julia", "Sem", "Tess", "Lucas"),
        ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser"),
    ),
}
STREETS = {
    "en": ("12 Station Road", "48 Church Lane", "7 Victoria Street", "221 Baker Street", "3 Mill Close"),
    "de": ("Hauptstraße 12", "Bahnhofstraße 3a", "Lindenweg 27", "Schillerstraße 104"),
    "fr": ("12 rue de la Paix", "4 avenue Victor Hugo", "27 boulevard Voltaire"),
    "es": ("Calle Mayor 14", "Avenida de América 32, 3ºB", "Calle del Prado 5"),
    "pt": ("Rua Augusta 120", "Avenida da Liberdade 45, 2º Esq", "Rua do Carmo 8"),
    "it": ("Via Roma 21", "Corso Vittorio Emanuele 104", "Via Garibaldi 7"),
    "nl": ("Kerkstraat 12", "Prinsengracht 263", "Dorpsweg 4b"),
}
CITIES = {
    "en": ("London", "Manchester", "Leeds", "Bristol"),
    "de": ("Berlin", "München", "Köln", "Hamburg"),
    "fr": ("Paris", "Lyon", "Nantes"),
    "es": ("Madrid", "Valencia", "Sevilla"),
    "pt": ("Lisboa", "Porto", "Braga"),
    "it": ("Milano", "Torino", "Bologna"),
    "nl": ("Amsterdam", "Utrecht", "Rotterdam"),
}
LOCALE_COUNTRY = {"en": "GB", "de": "DE", "fr": "FR", "es": "ES", "pt": "PT", "it": "IT", "nl": "NL"}
POSTCODES = {"GB": ("SW1A 1AA", "M1 4BT", "LS6 2QD", "BS8 1TH"), "DE": ("10115", "80331", "50667"), "FR": ("75011", "69003"),
             "ES": ("28013", "46001"), "PT": ("1100-148", "4050-263"), "IT": ("20121", "10123"), "NL": ("1016 GV", "3511 AB"),
             "IE": ("D02 X285",), "US": ("10001", "94103-1208")}  # fmt: skip
# postcodes that look plausible to a visitor but not to the site's rule for that country
BAD_POSTCODES = {"GB": ("SW1A", "M14 BT", "LS62"), "DE": ("1011", "801331"), "FR": ("7501", "750111"), "ES": ("2801",),
                 "PT": ("1100148", "1100-14"), "IT": ("2012",), "NL": ("1016", "1016 G"), "IE": ("D02",), "US": ("1000",)}  # fmt: skip
IBAN_BANKS = {"DE": "370400440532013000", "GB": "NWBK60161331926819", "FR": "20041010050500013M02606", "ES": "21000418450200051332",
              "PT": "000201231234567890154", "IT": "X0542811101000000123456", "NL": "ABNA0417164300"}  # fmt: skip
COMPANIES = ("Acme Logistics", "Blue Harbor GmbH", "Nordlicht Media", "Solaris Retail", "Kestrel Partners", "Tidewater Health")
JOBS = ("Operations Manager", "Data Analyst", "Software Engineer", "Head of Marketing", "Nurse", "Accountant", "Teacher")
SENTENCES = (
    "I would like to know more about the options for a small team.",
    "Could you tell me whether this works with our current setup?",
    "Mild headache for three days, worse in the evening.",
    "Please note that I may arrive late because of my flight.",
    "I have five years of experience building data pipelines in Python and SQL.",
    "Quiet room if possible, thank you.",
    "Previous landlord: Mrs Clarke, 07700 900123.",
    "The coffee is great but the queue at lunch is too long.",
)
SPAM = (
    "Best SEO services cheap price guaranteed first page ranking visit our site now for discount!!! ",
    "We provide high quality backlinks and guest posts for your website, contact us on whatsapp today. ",
    "Earn money from home 5000$ per week no experience needed click here to register now. ",
)


def luhn_complete(prefix: str) -> str:
    """The check digit that makes ``prefix`` + digit pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n -= 9 if n > 9 else 0
        total += n
    return prefix + str((10 - total % 10) % 10)


def iban_with_checksum(country: str, bban: str) -> str:
    digits = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(digits) % 97
    return f"{country}{check:02d}{bban}"


def spaced(value: str, size: int = 4) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


@dataclass
class Person:
    """One visitor's identity, in the site's language."""

    rng: random.Random
    locale: str
    first: str
    last: str
    country: str  # the country code their address is in (what the postcode check uses)
    email_style: int
    typed: dict = field(default_factory=dict)  # (concept, index) -> value: a person types their email the same way twice

    @classmethod
    def make(cls, rng: random.Random, locale: str, template: Template) -> Person:
        firsts, lasts = NAMES[locale]
        country = LOCALE_COUNTRY[locale] if any(f.concept == "country" for f in template.fields) else template.country
        return cls(rng, locale, rng.choice(firsts), rng.choice(lasts), country, rng.randrange(4))

    @property
    def email(self) -> str:
        first, last = self._ascii(self.first), self._ascii(self.last).replace(" ", "")
        local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}{self.rng.randrange(70, 99)}", f"{first}_{last}")[
            self.email_style
        ]
        return f"{local}@{('gmail.com', 'outlook.com', 'web.de', 'yahoo.fr', 'proton.me')[self.email_style]}"

    @property
    def work_email(self) -> str:
        return f"{self._ascii(self.first)}.{self._ascii(self.last).replace(' ', '')}@{self.rng.choice(('acme-logistics.com', 'nordlicht.de', 'kestrel.co.uk'))}"

    @staticmethod
    def _ascii(text: str) -> str:
        import unicodedata

        return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))

    def phone(self) -> str:
        r = self.rng
        return {
            "GB": f"07{r.randrange(100, 999)} {r.randrange(100000, 999999)}",
            "DE": f"0151 {r.randrange(1000000, 9999999)}",
            "FR": f"06 {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)}",
        }.get(self.country, f"+{r.randrange(30, 49)} {r.randrange(600000000, 699999999)}")

    def card(self) -> str:
        return spaced(luhn_complete("4" + "".join(str(self.rng.randrange(10)) for _ in range(14))))

    def iban(self) -> str:
        country = self.country if self.country in IBAN_BANKS else "DE"
        return spaced(iban_with_checksum(country, IBAN_BANKS[country]))

    def value(self, item: Field, template: Template) -> str:
        """A valid value, as this person would type it (or the option they would pick); the same one each time."""
        key = (item.kind if item.check == "confirm" else item.concept, item.index)
        if key not in self.typed:
            self.typed[key] = self._value(item, template)
        return self.typed[key]

    def _value(self, item: Field, template: Template) -> str:
        r = self.rng
        kind = item.kind
        attrs = dict(item.attrs)
        if item.concept == "country":
            return country_choice(self)
        if item.type in ("select", "radio", "checkbox") and item.options:
            return r.choice(item.options)
        if item.type == "date":
            return self.date_for(item).isoformat()
        if item.type == "month":
            return f"{r.randrange(2015, 2026)}-{r.randrange(1, 13):02d}"
        simple = {
            "first_name": self.first,
            "last_name": self.last,
            "full_name": f"{self.first} {self.last}",
            "card_name": f"{self.first} {self.last}".upper() if r.random() < 0.3 else f"{self.first} {self.last}",
            "email": self.work_email if item.check == "business" else self.email,
            "phone": self.phone(),
            "street": r.choice(STREETS[self.locale]),
            "address_line2": r.choice(("Flat 2", "3rd floor", "Apt 14")),
            "city": r.choice(CITIES[self.locale]),
            "postcode": r.choice(POSTCODES[self.country]),
            "company": r.choice(COMPANIES),
            "employer": r.choice(COMPANIES),
            "job_title": r.choice(JOBS),
            "linkedin": f"https://www.linkedin.com/in/{self._ascii(self.first)}-{self._ascii(self.last).replace(' ', '')}",
            "password": r.choice(("Correct-Horse-42", "Tr0ub4dor&3x!", "Blue.Lantern.2026", "Hanami!Sakura9")),
            "card_number": self.card(),
            "card_expiry": f"{r.randrange(1, 13):02d}/{r.randrange(27, 31)}",
            "card_cvc": str(r.randrange(100, 999)),
            "coupon": r.choice(("WELCOME10", "SAVE20", "BLACKFRIDAY", "SPRING15")),
            "iban": self.iban(),
            "vehicle_reg": r.choice(("AB12 CDE", "KX19 LMN", "YR68 TFA")),
            "national_id": r.choice(("QQ 12 34 56 C", "AB123456D")),
            "insurance_number": r.choice(("BUP44820193", "AXA9920311", "VT88123001")),
            "meter_number": str(r.randrange(10**9, 10**10)),
            "allergies": r.choice(("None", "Penicillin", "Peanuts", "Hay fever")),
            "short_text": r.choice(("In memory of Grandad", "For Maria", "Happy birthday Tom")),
        }
        if kind in simple:
            return simple[kind]
        if item.type == "number":
            low, high = int(attrs.get("min", "0")), int(attrs.get("max", "100000"))
            step = int(attrs.get("step", "1"))
            typical = {"loan_amount": (3000, 25000), "annual_income": (24000, 85000), "monthly_income": (1800, 5200),
                       "monthly_rent": (500, 1600), "salary_expectation": (45000, 95000), "annual_mileage": (4000, 15000),
                       "annual_usage": (1500, 4500), "custom_amount": (10, 80)}.get(item.concept)  # fmt: skip
            low, high = typical or (low, min(high, low + 40))
            return str(r.randrange(low, high + 1) // step * step if step > 1 else r.randrange(low, high + 1))
        if item.type == "textarea" or kind in ("message", "cover_letter"):
            return " ".join(r.sample(SENTENCES, 2 if item.concept == "cover_letter" else 1))
        if item.type == "url":
            return "https://www.example.com"
        return r.choice(("Yes, thanks", "Not sure", "See above"))

    def date_for(self, item: Field) -> date:
        r = self.rng
        today = CLOCK_START.date()
        if item.concept == "date_of_birth":
            return today - timedelta(days=r.randrange(20 * 365, 65 * 365))
        if item.concept == "checkout":
            return today + timedelta(days=r.randrange(30, 40))
        if item.concept == "move_in_date":
            return date(2027, 1, 1) + timedelta(days=r.randrange(0, 40))
        return today + timedelta(days=r.randrange(14, 28))

    def bad_values(self, item: Field, template: Template) -> list[str]:
        """Values the site refuses, in the order a person tries them (each a little different), or [] if none."""
        r = self.rng
        email = self.email
        local = email.split("@")[0]
        attrs = dict(item.attrs)
        check = item.check
        if check == "password":
            base = r.choice(("sunshine", "dragonfly", "marmalade", "hedgehog"))
            year = str(r.randrange(1980, 2010))
            return [base, base + year, base.capitalize() + year]  # too_short → missing_uppercase → missing_symbol
        if check == "luhn":
            good = self.card().replace(" ", "")
            wrong = good[:-1] + str((int(good[-1]) + r.randrange(1, 9)) % 10)
            return [spaced(wrong), spaced(good[:-2] + str((int(good[-2]) + 3) % 10) + good[-1]), spaced(good[:15])]
        if check == "expiry":
            return [f"{r.randrange(1, 13):02d}/{r.randrange(22, 26)}", f"{r.randrange(1, 13):02d}/{r.randrange(23, 26)}", "13/27"]
        if check == "cvc":
            return ["12", "1a3"]
        if check == "postcode":
            return list(BAD_POSTCODES[self.country])
        if check == "iban":
            good = self.iban().replace(" ", "")
            return [
                spaced(good[:4] + good[5:]),
                spaced(good[:2] + "00" + good[4:]),
                spaced(good[:-1] + "1" if good[-1] != "1" else good[:-1] + "2"),
            ]
        if check == "file":
            return ["scan.heic", "cv.pages", "big"]  # the persona turns "big" into a file over the size limit
        if check == "age":
            return [(CLOCK_START.date() - timedelta(days=r.randrange(16 * 365, 17 * 365 - 30))).isoformat()]
        if check == "after":
            return [(CLOCK_START.date() + timedelta(days=r.randrange(10, 20))).isoformat()]
        if check == "confirm":
            return ["Correct-Horse-24", "Correct-horse-42"]
        if check == "taken":
            return [TAKEN_EMAILS[self.email_style % len(TAKEN_EMAILS)]]
        if check == "business":
            return [email, email.replace("@", ".") if r.random() < 0.5 else email]
        if item.type == "email":
            return [local, f"{local}@", f"{local}@{email.split('@')[1].replace('.', ',')}"]
        if "pattern" in attrs:
            value = self.value(item, template)
            return [value[: max(2, len(value) // 2)], value[: max(3, len(value) - 3)] + "-x", value.replace(" ", "")[:4]]
        if item.type == "number" and ("min" in attrs or "max" in attrs):
            low, high = int(attrs.get("min", "0")), int(attrs.get("max", "0") or 0)
            tries = [str(max(0, low // 2))] if low > 0 else []
            if high:
                tries.append(str(high * 2))
            return tries
        if "minlength" in attrs:
            return [r.choice(SENTENCES)[:30], r.choice(SENTENCES)[:55]]
        if item.type == "url":
            return [f"linkedin.com/in/{self._ascii(self.first)}", f"www.linkedin.com/in/{self._ascii(self.first)}"]
        return []


def failing_fields(template: Template) -> list[Field]:
    """The fields a visitor can get stuck on in this template."""
    probe = Person(random.Random(0), "en", "Emma", "Smith", "GB", 0)
    # a repeat-password field fails only against a password typed before it (password_cascade does that)
    return [
        item
        for item in template.fields
        if item.type not in ("radio", "checkbox", "select") and item.check != "confirm" and probe.bad_values(item, template)
    ]


def country_choice(person: Person) -> str:
    return COUNTRIES[COUNTRY_CODES.index(person.country)] if person.country in COUNTRY_CODES else COUNTRIES[0]
