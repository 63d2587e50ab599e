"""What a field name means, from its words: informational regions, requirement-heavy asks, or fields to fill.

Names arrive snake_case (``[a-z0-9_]``) in any of the languages sites are built in: English, German,
French, Spanish, Portuguese, Italian, Dutch. Stems are matched with a small grammar (below) so that
unseen names (``monthly_fee_table``, ``versandkostenübersicht``, ``upload_w2``) land in the right group
while ``feedback``, ``special_requests`` or a ``cvv`` do not. A name that also names something to fill
in (``shipping_address``, ``lieferadresse``, ``return_date``) is a field, not a region.
"""

import re
import unicodedata
from functools import lru_cache
from itertools import product

# The stem grammar, one whitespace-separated string per language:
#   cv           the whole word and nothing more; stems of ≤ 3 letters or with a digit (cv, plz, w2) must
#                also stand between underscores, because letters glued to digits (cv12, 7f3a) are opaque ids
#   pric+        a word starting with the stem and at most MAX_SUFFIX more letters (prices, pricing), so
#                that inflections match but longer words do not (quote+ reads quotes, not quotation_marks)
#   promo*       a word starting with the stem, any ending (promotion, promocional, promozionale)
#   *kosten*     anywhere inside a word: German and Dutch glue compounds (versandkosten, jaarinkomen)
#   *adresse     at the end of a word (lieferadresse); ``*stem+`` allows a short ending after it
#   code_promo   words in sequence; connectors between them (de, d, di, van, of …) may be present or not
# Words are runs of letters: underscores and digits separate them (history_0_employer, address_line2).
# Stems are written with their real accents (gebühr, prénom, größe). Each accented letter then matches
# what either normalisation makes of it: the current one turns it into "_" (prénom → pr_nom, with runs
# collapsed and trimmed at the ends: confidentialité → confidentialit), the coming one strips it to its
# base letter (prenom, gebuhr; ß is dropped or becomes ss), and German is often typed transliterated
# by hand (gebuehr, groesse).
# Where even a short ending would read other words, the forms are listed whole: fee+ reads feedback's
# cousins feel and Dutch feest, plan+ reads plant, tier+ German tiere (animals), cart+ French carte (a card),
# cost+ reads Spanish costa (a coast), and custo+ reads customer.
MAX_SUFFIX = 3

# Regions visitors evaluate rather than fill: prices, plans, costs, reviews, guarantees, coupons, returns.
INFORMATIONAL = {
    "en": """
        pric+ *price* *pricing* plan plans tier tiers tiered cost costs fee fees *total+ *subtotal* fare fares charge
        charges surcharge+ *shipping* *delivery* *postage* review+ *testimonial* rating+ feature+ compar* warrant*
        *warranty* *guarantee* badge+ rate+ apr interest quote+ premium+ summary+ *installment* *instalment* repayment+
        *subscription* package+ bundle+ faq faqs specs specification+ cart carts savings deal deals offer+ competitor+
        upgrade+ addon+ estimate+ breakdown+ tax+ billing+ *membership* checkout+ deductible+ coverage+ excess+ payment+
        option options size+ chart+ details benefit+ perk+ trial+ allowance+ return+ *refund* *cancellation*
    """,
    "de": """
        *preis* *kosten* *versand* *liefer* *zustell* porto *tarif* *gebühr* *bewertung* *rezension* kundenstimme+
        *garantie* *gewährleistung* summe summen *zwischensumme* *endsumme* *bestellsumme* *gesamt* *übersicht*
        *zusammenfassung* *warenkorb* *angebot* leistungsumfang* leistungen funktionen *funktionsumfang* merkmale
        *ausstattung* *vergleich* abo abos *jahresabo *monatsabo *probeabo *abonnement* *mitgliedschaft* *paket* mwst
        *mehrwertsteuer* *zins* *prämie* *beitrag* *selbstbeteiligung* *selbstbehalt* *ersparnis* *deckung* *zubehör*
        raten* testphase* *testversion* häufige_fragen *rechnung* *rückgabe* *rücksend* *erstattung* *widerruf* *umtausch*
        *storn*
    """,
    "fr": """
        prix tarif* frais coût+ livraison+ expédition+ avis témoignage+ garantie+ récap* panier+ offre+ devis abonnement+
        formule+ forfait+ caractéristique+ fonctionnalit* tva ttc mensualit* taux intérêt intérêts franchise+ couverture+
        prime primes essai+ fiche_technique spécification+ questions_fréquentes adhésion+ cotisation+ retour+ rembours*
        rétractation+ annulation+
    """,
    "es": """
        precio precios tarifa+ coste costes costo costos gasto+ envío+ entrega entregas reseña+ opiniones valoración+
        calificación+ testimonio+ garantía+ resumen+ carrito+ oferta+ cotización+ suscripción+ membresía+ característica+
        funcionalidad* planes impuesto+ iva tasa tasas tae interés intereses cuota+ mensualidad+ cobertura+ franquicia+
        paquete+ preguntas_frecuentes ficha_técnica especificación+ devolu* reembolso+ desistimiento+ cancelación+
    """,
    "pt": """
        preço+ custo custos plano planos frete+ portes avaliaç* depoimento+ resumo+ carrinho+ cotação cotações parcela+
        prestaç* mensalidade+ juros taxa+ franquia+ imposto+ pacote+ perguntas_frequentes especificaç* opiniões troca+
        cancelamento+ arrependimento+
    """,
    "it": """
        prezz* spese spesa spedizion* consegna+ recension* valutazion* opinioni testimonianz* garanzi* riepilog* carrello+
        offert* preventiv* abbonament* pacchett* caratteristich* funzionalit* tassa tasse tasso tassi interessi taeg rata+
        rateizz* copertura+ franchigia+ domande_frequenti scheda_tecnica specifiche commissione commissioni confront* reso
        rimbors* recesso+ restituzion* cancellazion*
    """,
    "nl": """
        *prijs* *prijzen* *kosten* *tarief* *tarieven* *verzend* *bezorg* *levering* *levertijd* *beoordeling* recensie+
        klantervaring* ervaringen *garantie* *totaal* *overzicht* *samenvatting* *winkelwagen* *winkelmand* *aanbieding*
        *abonnement* *lidmaatschap* *pakket* kenmerk* *specificatie* *vergelijk* btw rente rentevoet* premie premies
        *maandpremie* *jaarpremie* eigen_risico *dekking* proefperiode* veelgestelde_vragen termijn+ *retour* *terugbetal*
        *herroep* *annulering*
    """,
}

# Coupons and vouchers are typed into, but a visitor entering one is weighing the price: they stay regions
# even when the name also says code, card or number.
COUPONS = {
    "en": "*coupon* promo* *promocode* *discount* *voucher* gift+ *giftcard*",
    "de": "*gutschein* *rabatt* *aktionscode* *geschenkkarte*",
    "fr": "remise+ réduction+ rabais bon_achat cadeau+",
    "es": "cupón+ descuento+ regalo+",
    "pt": "cupom+ cupons desconto+ vale_presente vale_desconto",
    "it": "sconto+ sconti buono buoni",
    "nl": "*korting* *actiecode* *waardebon* *cadeaubon* *cadeaukaart* *tegoedbon*",
}

# Asks that make visitors reconsider: documents and uploads, money, employment, legal consent, identity.
REQUIREMENT = {
    "en": """
        upload* *upload* resume resumes *resume document* attachment+ attach+ *passport* licen+ *license* *licence*
        *income* *salary* salaries employ* *employer* *employment* revenue+ *privacy* *consent* gdpr *agreement* agree+
        ssn bank* payslip+ paystub+ payroll+ proof+ certificat* credit_score credit_check credit_report credit_rating
        creditworthiness+ transcript+ *signature* collateral+ cosigner+ co_signer background+ headcount+ w2 scan+
        identity+ identification+ notar* disclosure+ declaration+ waiver+ cv cvs tos file+ docs doc verification+ kyc
        guarantor+ essay essays recommendation+ records business_registration company_registration
    """,
    "de": """
        *lebenslauf* *unterlagen* *zeugnis* *nachweis* *bescheinigung* *urkunde* *hochlad* *upload* *datei* *anhang*
        anhänge *dokument* *einkommen* *einkünfte* *gehalt* lohn* *lohn *verdienst* *umsatz* *arbeitgeber* *beschäftig*
        *anstellung* *arbeitsverhältnis* *mitarbeiter* *unternehmensgröße* *firmengröße* *betriebsgröße* agb agbs
        *datenschutz* dsgvo *einwilligung* *zustimmung* *einverständnis* *einverstanden* zustimmen* akzeptier* *ausweis*
        *reisepass* *passnummer* *führerschein* *identität* *steuernummer* *steueridentifikation* steuerid steuer_id
        *sozialversicherung* *kontoauszug* *schufa* *bonität* *unterschrift* *bürgschaft* bürge bürgen *vorerkrankung*
        *anamnese* *handelsregister* *aufenthaltstitel* *aufenthaltserlaubnis*
    """,
    "fr": """
        curriculum* télévers* télécharg* joindre+ pièce_jointe fichier+ justificati* revenu+ salaire+ rémunération+ paie+
        emploi+ situation_professionnelle effectif+ taille_entreprise chiffre_affaires cgu cgv cgvu mentions_légales
        confidentialit* vie_privée données_personnelles rgpd pièce_identité carte_identité identité+ passeport+ permis+
        relevé_bancaire coordonnées_bancaires compte_bancaire informations_bancaires rib imposition+ numéro_fiscal
        sécurité_sociale attestat* antécédent* diplôme+ kbis siret siren annexe+
    """,
    "es": """
        currícul* hoja_vida subir adjunt* archivo+ justificante+ comprobante+ ingreso+ salario+ sueldo+ declaración_renta
        nómina+ emplead* empleo+ laboral+ tamaño_empresa privacidad+ protección_datos tratamiento_datos lopd dni nie nif
        cif pasaporte+ cédula+ identificación+ identidad+ carné_conducir carnet_conducir permiso_conducir curp rfc rut
        crediticio+ extracto+ cuenta_bancaria datos_bancarios antecedente+ aval avales avalista+ fiador+ garante+
        seguridad_social nss expediente+ firma_digital firma_electrónica
    """,
    "pt": """
        carregar+ anex* situação_profissional conta_bancária dados_bancários arquivo+ comprovante+ comprovativo+ renda+
        rendimento+ salário+ empreg* porte_empresa tamanho_empresa funcionário+ lgpd cpf cnpj rg passaport* cnh
        carta_condução extrato+ holerite+ contracheque+ certidão+ atestado+ assinatura_digital
    """,
    "it": """
        carica* allega* reddito+ redditi stipend* retribuzion* busta_paga cedolino+ datore_lavoro lavorativ* dipendent*
        fatturato+ dimensione_azienda informativa+ consenso+ trattamento_dati carta_identità codice_fiscale partita_iva
        creditizio+ patente+ estratto_conto coordinate_bancarie conto_bancario casellario+ anamnes* fideiuss*
        firma_digitale
    """,
    "nl": """
        *bijlage* bestand+ *document* *inkomen* *salaris* loon* *loon *werkgever* *dienstverband* *werknemer* *medewerker*
        *bedrijfsgrootte* *organisatiegrootte* *omzet* *toestemming* *akkoord* *legitimatie* *identiteit* *paspoort*
        *rijbewijs* bsn *burgerservicenummer* *jaaropgave* kvk *uittreksel* *handtekening* vog *getuigschrift* diplom*
        *borgsteller*
    """,
}
# Generic words that are a requirement only when nothing else in the name names a region: privacy_policy and
# accept_terms ask something of the visitor, but return_policy, delivery_terms and price_history are read.
# French garant (a guarantor) is here too: garantía, normalised today to garant_a, is a warranty.
WEAK_REQUIREMENT = {
    "en": "terms+ conditions policy+ policies statement+ history+ reference+",
    "de": "*bedingungen* *referenz* *geschichte*",
    "fr": "référence+ garant garants",
    "es": "término+ condiciones referencia+ historial+",
    "pt": "termos+ condições referência+ histórico+",
    "it": "termini+ condizioni",
    "nl": "*voorwaarden* *referentie* *geschiedenis*",
}
# Unordered English word pairs that together name a requirement (size_of_company, social_security_no).
REQUIREMENT_PAIRS = (
    ("social", "security"),
    ("company", "size"),
    ("team", "size"),
    ("tax", "return"),
    ("tax", "id"),
    ("id", "card"),
    ("id", "document"),
)

# Words that make a name something to fill in, whatever region it also mentions (shipping_address).
FILLABLE = {
    "en": """
        *address* *street* name *email* mail *phone* mobil* date number city town zip *zipcode* *postcode* postal country
        state line first last *password* surname forename *birth* dob
    """,
    "de": """
        vorname nachname *name *namen anrede *anschrift *straße* *hausnummer* *hausnr plz *postleitzahl* ort wohnort*
        geburts* lieferort stadt+ land bundesland telefon* handy* *nummer *datum *passwort* kennwort* benutzer*
    """,
    "fr": "nom prénom+ *adresse+ rue+ ville+ localité pays téléphone+ portable+ courriel+ naissance+ mot_passe",
    "es": """
        nombre+ apellido+ dirección+ domicilio+ calle+ número+ ciudad+ localidad+ provincia+ país teléfono+ celular+
        móvil+ correo+ fecha+ nacimiento+ contraseña+ usuario+
    """,
    "pt": """
        nome+ sobrenome+ apelido+ endereço+ rua+ cep bairro+ cidade+ município+ telefone+ telemóvel+ data_nascimento
        nascimento+ senha+ usuário+ data_entrega data_envio data_devolução
    """,
    "it": """
        cognome+ indirizz* via civico cap città comune+ località paese+ telefono+ cellulare+ data_nascita nascita+
        data_consegna data_spedizione data_reso
    """,
    "nl": """
        voornaam+ achternaam+ *naam *adres* straat* *straat *huisnummer* *postcode woonplaats* *plaats telefoon* mobiel*
        geboorte* *wachtwoord*
    """,
}

# Words that contain a stem but mean something else; the whole word is ignored when matching.
FALSE_FRIENDS = ("lieferant", "leverancier", "verzenden", "paketstation", "packstation", "taxi")

# Failures that end an attempt at once: nothing to correct, the value is refused outright.
HARD_REASON_STEMS = ("taken", "registered", "exists", "in_use", "unavailable", "declined", "blocked", "duplicate", "not_allowed")

# Short words that may sit between the words of a phrase stem (pièce d'identité, taille de l'entreprise).
_CONNECTORS = "de d du des la l le les del della dell dei degli delle di da do dos das der den van of the"
_SEPARATOR = "_(?:(?:" + "|".join(_CONNECTORS.split()) + ")_)*"
# Hand transliteration of German letters; every other accented letter only has its base letter.
_TRANSLITERATIONS = {"ä": ("ae", "a"), "ö": ("oe", "o"), "ü": ("ue", "u"), "ß": ("ss", "")}
_ACCENT_RUN = re.compile(r"[^a-z0-9]+|[a-z0-9]+")


def _ascii_forms(char: str) -> tuple[str, ...]:
    if char in _TRANSLITERATIONS:
        return _TRANSLITERATIONS[char]
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return (base,)


def _word_atoms(word: str, open_end: bool) -> list[str]:
    """A stem word as regex atoms: each ASCII letter as itself, each run of accented letters in all its forms."""
    atoms: list[str] = []
    pieces = _ACCENT_RUN.findall(word)
    for index, piece in enumerate(pieces):
        if piece.isascii():
            atoms.extend(piece)
            continue
        forms = {"".join(combo) for combo in product(*(_ascii_forms(c) for c in piece))}
        forms.add("_")  # the current normalisation: the run becomes one underscore …
        if index == 0 or (index == len(pieces) - 1 and not open_end) or "ß" in piece:
            # … trimmed away at a word's edge (not before an open ending: prestaç* must not read presta…);
            # ß has no base letter and may simply vanish
            forms.add("")
        atoms.append("(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")")
    return atoms


def _stem_atoms(stem: str) -> tuple[str, list[str]]:
    """Where a stem may begin (after a non-letter, after a non-alphanumeric, anywhere) and its regex atoms."""
    anywhere = stem.startswith("*")
    body = stem.removeprefix("*")
    ending = body[-1] if body[-1] in "*+" else ""
    body = body.removesuffix(ending)
    words = body.split("_")
    atoms: list[str] = []
    for index, word in enumerate(words):
        atoms += [_SEPARATOR] if index else []
        atoms += _word_atoms(word, open_end=ending == "*" and index == len(words) - 1)
    if not anywhere and not ending and (len(body) <= 3 or any(c.isdigit() for c in body)):
        return "(?<![a-z0-9])", [*atoms, "(?![a-z0-9])"]
    end = {"*": "", "+": rf"[a-z]{{0,{MAX_SUFFIX}}}(?![a-z])", "": "(?![a-z])"}[ending]
    return ("" if anywhere else "(?<![a-z])"), [*atoms, end]


def _alternation(sequences: list[list[str]]) -> str:
    """Atom sequences as one regex sharing their prefixes. Python's re tries alternatives one by one, so a plain
    alternation of hundreds of stems costs hundreds of attempts at every position; branching letter by letter
    costs a few. The patterns are only ever asked whether they match, so a branch that ends makes the longer
    branches beside it unnecessary."""
    trie: dict = {}
    for sequence in sequences:
        node = trie
        for atom in sequence:
            node = node.setdefault(atom, {})
        node[None] = {}

    def emit(node: dict) -> str:
        if None in node:
            return ""
        branches = [atom + emit(child) for atom, child in node.items()]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return emit(trie)


def _stems(*tables: dict[str, str]) -> list[str]:
    return list(dict.fromkeys(stem for table in tables for stems in table.values() for stem in stems.split()))


def _compile(*tables: dict[str, str]) -> re.Pattern[str]:
    # Compiled once at import, and results are cached per name: a trace with a dozen distinct fields pays
    # for a dozen scans at most.
    by_start: dict[str, list[list[str]]] = {}
    for stem in _stems(*tables):
        start, atoms = _stem_atoms(stem)
        by_start.setdefault(start, []).append(atoms)
    return re.compile("|".join(start + _alternation(sequences) for start, sequences in by_start.items()))


_INFORMATIONAL = _compile(INFORMATIONAL, COUPONS)
_COUPON = _compile(COUPONS)
_REQUIREMENT = _compile(REQUIREMENT)
_WEAK_REQUIREMENT = _compile(WEAK_REQUIREMENT)
_FILLABLE = _compile(FILLABLE)
_FALSE_FRIEND = re.compile(r"[a-z]*(?:" + "|".join(FALSE_FRIENDS) + r")[a-z]*")
_NORMALISED = re.compile(r"[a-z0-9_]*")
_WORDS = re.compile(r"[a-z]+")


def _normalise(field: str) -> str:
    """The snippet's normalisation, for names that reach us raw (``firstName``, ``Preisübersicht``)."""
    text = unicodedata.normalize("NFKD", field.replace("ß", "ss")).encode("ascii", "ignore").decode()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@lru_cache(maxsize=8192)
def _prepared(field: str) -> str:
    name = field if _NORMALISED.fullmatch(field) else _normalise(field)
    return _FALSE_FRIEND.sub("_", name)


@lru_cache(maxsize=8192)
def is_requirement(field: str) -> bool:
    name = _prepared(field)
    words = set(_WORDS.findall(name))
    if any(a in words and b in words for a, b in REQUIREMENT_PAIRS) or _REQUIREMENT.search(name):
        return True
    return bool(_WEAK_REQUIREMENT.search(name)) and not _INFORMATIONAL.search(name)


@lru_cache(maxsize=8192)
def is_fillable(field: str) -> bool:
    """Whether the name says what to type (an address, a name, a date), which outweighs a region word in it."""
    name = _prepared(field)
    return bool(_FILLABLE.search(name)) and not _COUPON.search(name)


@lru_cache(maxsize=8192)
def is_informational(field: str) -> bool:
    if field == "page" or is_requirement(field) or is_fillable(field):
        return False
    return bool(_INFORMATIONAL.search(_prepared(field)))


def is_hard_reason(reason: str) -> bool:
    return any(stem in reason for stem in HARD_REASON_STEMS)
