"""How a site names its fields: the same form rendered with English, camelCase, bracketed, six languages' or form-builder names.

A concept (``postcode``) becomes the ``name`` attribute a real site would use (``postcode``, ``postCode``,
``order[postcode]``, ``plz``, ``code_postal``, ``input_7``…); regions get the same treatment for
``data-formrecap-field``. Some language names keep their accents (``prénom``, ``código_postal``): sites do that,
and the snippet folds them.
"""

import hashlib

LANGUAGES = ("de", "fr", "es", "pt", "it", "nl")
SCHEMES = ("snake", "camel", "bracketed", *LANGUAGES, "opaque")
# Form builders number or hash their inputs; which one a site uses is fixed per session.
OPAQUE_STYLES = ("gravity", "hash", "wufoo")

# concept: de | fr | es | pt | it | nl
_TABLE = """
first_name: vorname | prénom | nombre | nome | nome | voornaam
last_name: nachname | nom | apellidos | sobrenome | cognome | achternaam
full_name: vollständiger_name | nom_complet | nombre_completo | nome_completo | nome_e_cognome | volledige_naam
email: e_mail_adresse | courriel | correo | correio_eletronico | indirizzo_posta | e_mailadres
work_email: geschäftliche_e_mail | courriel_pro | correo_empresa | email_corporativo | posta_aziendale | zakelijk_e_mailadres
phone: telefon | téléphone | teléfono | telefone | telefono | telefoonnummer
date_of_birth: geburtsdatum | date_naissance | fecha_nacimiento | data_nascimento | data_nascita | geboortedatum
street: straße | adresse | dirección | morada | indirizzo | straat
address_line2: adresszusatz | complément_adresse | direccion_2 | complemento | indirizzo_2 | toevoeging
city: ort | ville | ciudad | cidade | città | plaats
postcode: plz | code_postal | código_postal | codigo_postal | cap | postcode
country: land | pays | país | pais | paese | land
company: firma | entreprise | empresa | empresa | azienda | bedrijf
job_title: berufsbezeichnung | fonction | cargo | cargo | ruolo | functie
linkedin: linkedin_profil | profil_linkedin | perfil_linkedin | perfil_linkedin | profilo_linkedin | linkedin_profiel
password: passwort | mot_de_passe | contraseña | senha | password | wachtwoord
password_confirm: passwort_wiederholen | confirmation_mot_de_passe | repetir_contraseña | confirmar_senha | conferma_password | wachtwoord_herhalen
terms: agb_akzeptiert | accepte_cgv | acepto_condiciones | aceito_termos | accetto_condizioni | akkoord_voorwaarden
newsletter: newsletter_abonnieren | lettre_info | boletín | receber_novidades | iscrizione_newsletter | nieuwsbrief
privacy_consent: datenschutz_einwilligung | consentement_rgpd | acepto_privacidad | consentimento_dados | consenso_privacy | privacy_toestemming
card_name: karteninhaber | titulaire_carte | titular_tarjeta | titular_cartao | intestatario_carta | naam_kaarthouder
card_number: kartennummer | numéro_carte | numero_tarjeta | número_cartão | numero_carta | kaartnummer
card_expiry: ablaufdatum | date_expiration | caducidad | validade | scadenza | vervaldatum
card_cvc: prüfnummer | cryptogramme | codigo_seguridad | codigo_seguranca | codice_sicurezza | beveiligingscode
shipping_method: versandart | mode_livraison | método_envío | metodo_envio | spedizione | verzendmethode
coupon: gutscheincode | code_promo | cupón | cupom | codice_sconto | kortingscode
position: stelle | poste | puesto | vaga | posizione | vacature
cv: lebenslauf | fichier_cv | currículum | curriculo | curriculum_vitae | cv_bestand
cover_letter: anschreiben | lettre_motivation | carta_presentación | carta_apresentacao | lettera_presentazione | motivatiebrief
employer: arbeitgeber | employeur | empleador | empregador | datore_lavoro | werkgever
role: tätigkeit | fonction_occupee | puesto_ocupado | funcao | mansione | functietitel
period_start: von | du | desde | inicio | dal | van
period_end: bis | au | hasta | fim | al | tot
salary_expectation: gehaltsvorstellung | prétentions_salariales | expectativa_salarial | pretensao_salarial | ral_desiderata | salarisindicatie
notice_period: kündigungsfrist | préavis | preaviso | aviso_previo | preavviso | opzegtermijn
work_permit: arbeitserlaubnis | permis_travail | permiso_trabajo | autorizacao_trabalho | permesso_lavoro | werkvergunning
start_date: eintrittsdatum | date_debut | fecha_inicio | data_inicio | data_inizio | startdatum
loan_amount: kreditbetrag | montant_pret | importe_préstamo | valor_emprestimo | importo_prestito | leenbedrag
loan_term: laufzeit | durée | plazo | prazo | durata | looptijd
loan_purpose: verwendungszweck | objet_pret | finalidad | finalidade | finalità | doel_lening
employment_status: beschäftigungsstatus | situation_pro | situación_laboral | situacao_profissional | situazione_lavorativa | dienstverband
employment_years: beschäftigt_seit | ancienneté | antigüedad | tempo_emprego | anzianità | jaren_in_dienst
annual_income: jahreseinkommen | revenu_annuel | ingresos_anuales | rendimento_anual | reddito_annuo | jaarinkomen
monthly_income: monatseinkommen | revenu_mensuel | ingresos_mensuales | rendimento_mensal | reddito_mensile | maandinkomen
monthly_rent: monatsmiete | loyer | alquiler_mensual | renda_mensal | affitto_mensile | huur_per_maand
iban: iban | iban | iban | iban | iban | iban
credit_check_consent: schufa_einwilligung | accord_verification | consentimiento_solvencia | consentimento_credito | consenso_verifica | toestemming_bkr
vehicle_reg: kennzeichen | immatriculation | matrícula | matricula | targa | kenteken
vehicle_make: marke | marque | marca | marca | marca | merk
vehicle_year: baujahr | année_vehicule | año_vehiculo | ano_veiculo | anno_immatricolazione | bouwjaar
annual_mileage: jahresfahrleistung | kilometrage_annuel | kilometraje_anual | quilometragem_anual | km_annui | kilometers_per_jaar
licence_years: führerschein_seit | annees_permis | antigüedad_carnet | anos_carta | anni_patente | rijbewijs_jaren
claims: schäden | sinistres | siniestros | sinistros | sinistri | schades
cover_level: deckung | formule | cobertura | cobertura | copertura | dekking
company_size: mitarbeiterzahl | taille_entreprise | tamaño_empresa | dimensao_empresa | dimensione_azienda | bedrijfsgrootte
industry: branche | secteur | sector | setor | settore | sector
budget: budgetrahmen | enveloppe | presupuesto | orcamento | budget_previsto | budget
message: nachricht | votre_message | mensaje | mensagem | messaggio | bericht
consent: einwilligung | consentement | consentimiento | consentimento | consenso | toestemming
visit_frequency: besuchshäufigkeit | frequence_visite | frecuencia_visita | frequencia_visita | frequenza_visite | bezoekfrequentie
satisfaction: zufriedenheit | niveau_satisfaction | satisfacción | satisfacao | soddisfazione | tevredenheid
recommend_score: weiterempfehlung | recommandation | recomendación | recomendacao | raccomandazione | aanbeveling
favourite_product: lieblingsprodukt | produit_préféré | producto_favorito | produto_favorito | prodotto_preferito | favoriete_product
improvement: verbesserungsvorschlag | suggestions | sugerencias | sugestoes | suggerimenti | verbeterpunten
age_group: altersgruppe | tranche_age | rango_edad | faixa_etaria | fascia_eta | leeftijdsgroep
prize_draw: gewinnspiel | tirage_au_sort | sorteo | sorteio | estrazione_premi | winactie
permit_type: ausweisart | type_permis | tipo_permiso | tipo_licenca | tipo_permesso | soort_vergunning
national_id: ausweisnummer | numéro_identité | dni | cartao_cidadao | codice_fiscale | bsn
proof_of_address: meldebescheinigung | justificatif_domicile | justificante_domicilio | comprovativo_morada | certificato_residenza | bewijs_adres
vehicle_document: fahrzeugschein | carte_grise | permiso_circulación | documento_veiculo | libretto | kentekenbewijs
declaration: erklärung | attestation | declaración | declaracao | dichiarazione | verklaring
checkin: anreise | arrivée | llegada | chegada | arrivo | aankomst
checkout: abreise | départ | salida | partida | partenza | vertrek
guests: personen | personnes | huéspedes | hospedes | ospiti | gasten
room_type: zimmerkategorie | type_chambre | tipo_habitación | tipo_quarto | tipologia_camera | kamertype
arrival_time: ankunftszeit | heure_arrivee | hora_llegada | hora_chegada | orario_arrivo | aankomsttijd
special_requests: besondere_wünsche | demandes_speciales | peticiones | pedidos_especiais | richieste | speciale_wensen
interests: interessen | centres_interet | intereses | interesses | interessi | interesses
frequency: häufigkeit | fréquence | frecuencia | frequencia | frequenza | frequentie
insurance_provider: krankenkasse | mutuelle | aseguradora | seguradora | assicurazione | zorgverzekeraar
insurance_number: versichertennummer | numero_securite_sociale | numero_afiliacion | numero_utente | tessera_sanitaria | polisnummer
visit_reason: besuchsgrund | motif_consultation | motivo_consulta | motivo_da_consulta | motivo_visita | reden_bezoek
symptoms: beschwerden | symptômes | síntomas | sintomas | sintomi | klachten
medications: medikamente | traitements | medicación | medicacao | farmaci | medicijnen
allergies: allergien | allergies_connues | alergias | alergias | allergie | allergieen
emergency_name: notfallkontakt | contact_urgence | contacto_emergencia | contacto_emergencia | contatto_emergenza | noodcontact
emergency_phone: notfall_telefon | tel_urgence | teléfono_emergencia | telefone_emergencia | telefono_emergenza | noodnummer
id_document: ausweiskopie | pièce_identité | documento_identidad | documento_identificacao | documento_identità | identiteitsbewijs
treatment_consent: behandlungseinwilligung | consentement_soins | consentimiento_informado | consentimento_informado | consenso_informato | toestemming_behandeling
move_in_date: einzugsdatum | date_emmenagement | fecha_entrada | data_entrada | data_ingresso | ingangsdatum
proof_of_income: einkommensnachweis | justificatif_revenus | justificante_ingresos | comprovativo_rendimentos | busta_paga | loonstrook
pets: haustiere | animaux | mascotas | animais | animali | huisdieren
guarantor: bürge | garant | avalista | fiador | garante | borg
references: referenzen | recommandations | referencias | referências | referenze | referenties
current_address: aktuelle_adresse | adresse_actuelle | dirección_actual | morada_atual | indirizzo_attuale | huidig_adres
ticket_type: ticketart | type_billet | tipo_entrada | tipo_bilhete | tipo_biglietto | tickettype
workshop: workshop_auswahl | atelier | taller | oficina | laboratorio | workshopkeuze
dietary: ernährung | régime_alimentaire | dieta | dieta | esigenze_alimentari | dieetwensen
tshirt_size: shirtgröße | taille_tshirt | talla_camiseta | tamanho_tshirt | taglia_maglietta | shirtmaat
promo_code: aktionscode | code_reduction | código_promocional | codigo_promocional | codice_promozionale | actiecode
donation_amount: spendenbetrag | montant_don | importe_donativo | valor_donativo | importo_donazione | donatiebedrag
custom_amount: anderer_betrag | autre_montant | otro_importe | outro_valor | altro_importo | ander_bedrag
donation_frequency: spendenrhythmus | frequence_don | periodicidad | periodicidade | cadenza | frequentie_gift
gift_aid: spendenquittung | recu_fiscal | certificado_fiscal | recibo_fiscal | ricevuta_fiscale | belastingaftrek
dedication: widmung | dédicace | dedicatoria | dedicatória | dedica | opdracht
annual_usage: jahresverbrauch | consommation_annuelle | consumo_anual | consumo_anual | consumo_annuo | jaarverbruik
tariff: tarif | offre | tarifa | tarifario | tariffa | tarief
meter_number: zählernummer | numero_compteur | número_contador | numero_contador | matricola_contatore | meternummer
payment_day: abbuchungstag | jour_prelevement | día_cobro | dia_pagamento | giorno_addebito | incassodag
switch_date: lieferbeginn | date_souhaitee | fecha_cambio | data_mudanca | data_attivazione | overstapdatum
course: kurs | formation | curso | curso | corso | cursus
intake: kursbeginn | session_rentree | convocatoria | edicao | edizione | startmoment
education_level: bildungsabschluss | niveau_études | nivel_estudios | habilitacoes | titolo_studio | opleidingsniveau
transcript: zeugnis | relevé_notes | expediente | certificado_habilitacoes | certificato_voti | cijferlijst
payment_plan: zahlungsplan | échéancier | plan_pago | plano_pagamento | rateizzazione | betaalplan
team_size: teamgröße | taille_equipe | tamaño_equipo | tamanho_equipa | dimensione_team | teamgrootte
plan: paket | formule_abonnement | plan_suscripcion | plano | piano | abonnement
billing_same: rechnungsadresse_gleich | facturation_identique | misma_facturacion | mesma_faturacao | stessa_fatturazione | zelfde_factuuradres
history: berufserfahrung | experience_pro | experiencia | experiencia_profissional | esperienze | werkervaring
plan_tiers: pakete | formules | planes | planos | piani | pakketten
feature_list: funktionen | fonctionnalités | funcionalidades | funcionalidades | funzionalità | functies
reviews: bewertungen | avis_clients | opiniones | avaliações | recensioni | beoordelingen
terms_of_service: agb | cgv | condiciones | termos_condicoes | condizioni | voorwaarden
pricing_tiers: preismodelle | offres_tarifaires | niveles_precio | niveis_preco | fasce_prezzo | prijsniveaus
guest_reviews: gästebewertungen | avis_voyageurs | opiniones_huéspedes | avaliacoes_hospedes | recensioni_ospiti | gastenreviews
privacy_notice: datenschutzerklärung | mentions_rgpd | aviso_privacidad | aviso_privacidade | informativa | privacyverklaring
privacy_policy: datenschutz | confidentialité | privacidad | privacidade | informativa_privacy | privacybeleid
order_summary: bestellübersicht | récapitulatif | resumen_pedido | resumo_encomenda | riepilogo_ordine | besteloverzicht
shipping_costs: versandkosten | frais_livraison | gastos_envío | portes | spese_spedizione | verzendkosten
order_total: gesamtsumme | total_commande | total_pedido | total_encomenda | totale_ordine | totaalbedrag
returns_policy: rückgabe | retours | devoluciones | devolucoes | resi | retourbeleid
role_description: stellenbeschreibung | description_poste | descripción_puesto | descricao_vaga | descrizione_ruolo | functieomschrijving
benefits: zusatzleistungen | avantages | beneficios | beneficios | vantaggi | secundaire_voorwaarden
rates_table: zinssätze | taux | tipos_interés | taxas | tassi | rentetarieven
representative_example: repräsentatives_beispiel | exemple_représentatif | ejemplo_representativo | exemplo_representativo | esempio_rappresentativo | representatief_voorbeeld
fees: gebühren | frais | comisiones | comissoes | commissioni | kosten
credit_check_info: schufa_hinweis | info_verification | info_solvencia | info_credito | info_crif | bkr_toetsing
cover_comparison: tarifvergleich | comparatif_garanties | comparativa_coberturas | comparacao_coberturas | confronto_coperture | dekkingen_vergelijken
excess_table: selbstbeteiligung | franchise | franquicia | franquia | franchigia | eigen_risico
policy_terms: versicherungsbedingungen | conditions_generales | condiciones_poliza | condicoes_apolice | condizioni_polizza | polisvoorwaarden
testimonials: kundenstimmen | témoignages | testimonios | testemunhos | testimonianze | klantverhalen
survey_intro: umfrage_info | présentation_enquête | introduccion | introducao | introduzione | toelichting
prize_rules: teilnahmebedingungen | règlement | bases_sorteo | regulamento | regolamento | actievoorwaarden
permit_fees: gebührenordnung | tarifs_permis | tasas | taxas_licenca | tariffe_permesso | leges
eligibility_rules: voraussetzungen | conditions_eligibilite | requisitos | requisitos_elegibilidade | requisiti | voorwaarden_vergunning
data_protection: datenschutzhinweise | protection_données | protección_datos | protecao_dados | trattamento_dati | gegevensbescherming
room_rates: zimmerpreise | tarifs_chambres | tarifas_habitaciones | tarifas_quartos | tariffe_camere | kamerprijzen
cancellation_policy: stornobedingungen | conditions_annulation | política_cancelación | politica_cancelamento | cancellazione | annuleringsvoorwaarden
amenities: ausstattung | équipements | servicios | comodidades | servizi | faciliteiten
sample_issue: leseprobe | aperçu | ejemplo_boletin | exemplo | anteprima | voorbeeldeditie
subscriber_reviews: leserstimmen | avis_abonnes | opiniones_suscriptores | opinioes_assinantes | opinioni_iscritti | lezersreacties
consultation_fees: honorare | honoraires | tarifas_consulta | precos_consulta | tariffe_visite | consulttarieven
clinic_info: praxisinfo | infos_cabinet | info_clínica | info_clinica | info_studio | praktijkinfo
rent_breakdown: mietaufstellung | détail_loyer | desglose_alquiler | detalhe_renda | dettaglio_canone | huuropbouw
deposit_info: kaution | dépôt_garantie | fianza | caucao | deposito_cauzionale | waarborgsom
property_details: objektdetails | details_logement | detalles_vivienda | detalhes_imovel | dettagli_immobile | woninggegevens
tenancy_terms: mietbedingungen | conditions_bail | condiciones_alquiler | condicoes_arrendamento | condizioni_locazione | huurvoorwaarden
ticket_tiers: ticketpreise | tarifs_billets | precios_entradas | precos_bilhetes | prezzi_biglietti | ticketprijzen
agenda: programm | programme | programa | programa | programma | dagprogramma
refund_policy: erstattung | remboursement | reembolsos | reembolsos | rimborsi | terugbetaling
speaker_lineup: referenten | intervenants | ponentes | oradores | relatori | sprekers
attendee_reviews: teilnehmerstimmen | avis_participants | opiniones_asistentes | opinioes_participantes | opinioni_partecipanti | reacties_deelnemers
donation_impact: wirkung | impact_don | impacto | impacto_donativo | impatto | wat_uw_gift_doet
financial_transparency: transparenz | transparence_financière | transparencia | transparencia | trasparenza | transparantie
tariff_table: tarifübersicht | grille_offres | tabla_tarifas | tabela_tarifarios | tabella_tariffe | tarievenoverzicht
price_cap_info: preisgarantie | bouclier_tarifaire | precio_garantizado | preco_garantido | prezzo_bloccato | prijsplafond
contract_terms: vertragsbedingungen | conditions_contrat | condiciones_contrato | condicoes_contrato | condizioni_contratto | contractvoorwaarden
customer_reviews: kundenbewertungen | avis_consommateurs | valoraciones | opinioes_clientes | recensioni_clienti | klantbeoordelingen
course_fees: kursgebühren | frais_scolarité | precio_curso | propinas | costo_corso | collegegeld
payment_plans: ratenzahlung | facilités_paiement | financiación | planos_pagamento | piani_pagamento | betaalregelingen
syllabus: lehrplan | programme_cours | temario | conteudo_programatico | piano_studi | lesprogramma
student_reviews: teilnehmerbewertungen | avis_étudiants | opiniones_alumnos | opinioes_alunos | opinioni_studenti | studentenreviews
"""


def _parse(table: str) -> dict[str, dict[str, str]]:
    words: dict[str, dict[str, str]] = {}
    for line in table.strip().splitlines():
        concept, _, rest = line.partition(":")
        names = [name.strip() for name in rest.split("|")]
        assert len(names) == len(LANGUAGES), f"{concept}: {len(names)} translations"
        words[concept.strip()] = dict(zip(LANGUAGES, names, strict=True))
    return words


TRANSLATIONS = _parse(_TABLE)


def camel(concept: str) -> str:
    head, *rest = concept.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Namer:
    """Names for one rendering of one form: ``scheme`` fixed, ``root`` the bracketed scheme's object (``order``)."""

    def __init__(self, scheme: str, *, root: str, salt: str):
        if scheme not in SCHEMES:
            raise ValueError(f"unknown naming scheme {scheme!r}; known: {', '.join(SCHEMES)}")
        self.scheme = scheme
        self.root = root
        self.salt = salt
        self.style = OPAQUE_STYLES[int(hashlib.sha256(salt.encode()).hexdigest(), 16) % len(OPAQUE_STYLES)]
        self._used: set[str] = set()

    def field(self, concept: str, *, position: int, group: str | None = None, index: int | None = None) -> str:
        """``position`` numbers the inputs as a form builder would; ``group``/``index`` place a repeated section."""
        scheme = self.scheme
        if scheme == "opaque":
            return self._opaque(f"{group}.{index}.{concept}" if group else concept, position, region=False, sub=index)
        suffix = "" if index is None else f"_{index + 1}"
        if scheme == "snake":
            return concept + suffix
        if scheme == "camel":
            return camel(concept) + ("" if index is None else str(index + 1))
        if scheme == "bracketed":
            if group:
                return f"{self.root}[{group}][{index}][{concept}]"
            return f"{self.root}[{concept}]"
        return TRANSLATIONS[concept][scheme] + suffix

    def region(self, concept: str, *, position: int) -> str:
        scheme = self.scheme
        if scheme == "opaque":
            return self._opaque(concept, position, region=True, sub=None)
        if scheme == "camel":
            return camel(concept)
        if scheme in LANGUAGES:
            return TRANSLATIONS[concept][scheme]
        return concept  # snake and bracketed sites write regions in snake_case

    def _opaque(self, key: str, position: int, *, region: bool, sub: int | None) -> str:
        if self.style == "hash":
            digest = hashlib.sha256(f"{self.salt}:{key}".encode()).hexdigest()
            size = 4
            while (name := ("block_" if region else "field_") + digest[:size]) in self._used:
                size += 1  # two inputs of one form never share a name
            self._used.add(name)
            return name
        if self.style == "wufoo":
            return (f"Section{position}" if region else f"Field{position}") + ("" if sub is None else f"_{sub + 1}")
        return f"block_{position}" if region else f"input_{position}" + ("" if sub is None else f"_{sub + 1}")
