"""Every word the inbox shows, in Dutch and English: the dealer's locale picks (before
sign-in, the locale the dealers share, else the browser's preference).

One table, each entry `(nl, en)`, so a text cannot exist in one language only. Labels of the
engine's values (statuses, channels, kinds, outcomes) are `<group>.<value>`.
"""

from __future__ import annotations

from typing import Final

from leads.models import Locale

TEXTS: Final[dict[str, tuple[str, str]]] = {
    "app": ("Blanco inbox", "Blanco inbox"),
    "skip": ("Naar de inhoud", "Skip to content"),
    # --- sign-in ---------------------------------------------------------------------------
    "sign_in.title": ("Inloggen", "Sign in"),
    "sign_in.intro": (
        "Vul je e-mailadres of telefoonnummer in. Je krijgt een link om in te loggen.",
        "Enter your e-mail address or phone number and we send you a link to sign in.",
    ),
    "sign_in.address": ("E-mailadres of telefoonnummer", "E-mail address or phone number"),
    "sign_in.send": ("Stuur mij een link", "Send me a link"),
    "sign_in.sent.title": ("Kijk in je mail of berichten", "Check your mail or messages"),
    "sign_in.sent": (
        "Als dit adres bij een verkoper hoort, is er een link onderweg. "
        "Hij werkt één keer, {minutes} minuten lang.",
        "If this address belongs to a salesperson, a link is on its way. "
        "It works once, for {minutes} minutes.",
    ),
    "sign_in.again": ("Opnieuw proberen", "Try again"),
    "sign_in.token.summary": ("Inloggen met je API-token", "Sign in with your API token"),
    "sign_in.token": ("API-token", "API token"),
    "sign_in.token.button": ("Inloggen met token", "Sign in with token"),
    "sign_in.confirm.title": ("Inloggen bij Blanco", "Sign in to Blanco"),
    "sign_in.confirm": (
        "Tik op de knop om in te loggen op dit apparaat.",
        "Tap the button to sign in on this device.",
    ),
    "sign_in.confirm.button": ("Inloggen", "Sign in"),
    "sign_in.too_many": (
        "Te veel inloglinks aangevraagd. Probeer het over {minutes} minuten opnieuw.",
        "Too many sign-in links. Try again in {minutes} minutes.",
    ),
    "sign_in.used": (
        "Deze inloglink is al gebruikt. Vraag een nieuwe aan.",
        "This sign-in link was already used. Ask for a new one.",
    ),
    "sign_in.expired": (
        "Deze inloglink is verlopen of ongeldig. Vraag een nieuwe aan.",
        "This sign-in link has expired or is not valid. Ask for a new one.",
    ),
    "sign_in.bad_token": ("Dit token kennen we niet.", "This token is not known."),
    "sign_in.needed": (
        "Je bent niet (meer) ingelogd. Log opnieuw in.",
        "You are not signed in (any more). Please sign in again.",
    ),
    "sign_out": ("Uitloggen", "Sign out"),
    "mail.subject": ("Inloggen bij Blanco", "Sign in to Blanco"),
    "mail.text": (
        "Hallo {name},\n\nLog in bij de Blanco inbox van {dealer} met deze link "
        "(één keer te gebruiken, {minutes} minuten geldig):\n\n{url}\n\n"
        "Heb je dit niet aangevraagd? Dan kun je dit bericht negeren.",
        "Hello {name},\n\nSign in to the Blanco inbox of {dealer} with this link "
        "(it works once, for {minutes} minutes):\n\n{url}\n\n"
        "Did not ask for it? Then ignore this message.",
    ),
    "sms.text": (
        "Blanco: inloggen bij {dealer} ({minutes} min. geldig): {url}",
        "Blanco: sign in to {dealer} (valid {minutes} min): {url}",
    ),
    # --- the task list ---------------------------------------------------------------------
    "tasks.title": ("Taken", "Tasks"),
    "tasks.all": ("Alle taken", "All tasks"),
    "tasks.empty": (
        "Geen open taken. Nieuwe taken verschijnen hier vanzelf.",
        "No open tasks. New ones appear here by themselves.",
    ),
    "tasks.claim": ("Oppakken", "Claim"),
    "tasks.open": ("Openen", "Open"),
    "tasks.claimed_by": ("Opgepakt door {name}", "Claimed by {name}"),
    "tasks.mine": ("Jouw taak", "Your task"),
    "tasks.unclaimed": ("Nog niet opgepakt", "Not claimed yet"),
    "tasks.reassign": ("Toewijzen aan", "Assign to"),
    "tasks.reassign.button": ("Toewijzen", "Assign"),
    "tasks.due": ("bellen vanaf {at}", "call from {at}"),
    "badge.reminded": ("herinnerd", "reminded"),
    "badge.escalated": ("geëscaleerd", "escalated"),
    "age.now": ("zojuist", "just now"),
    "age.minutes": ("{n} min", "{n} min"),
    "age.hours": ("{n} u", "{n} h"),
    "age.days": ("{n} d", "{n} d"),
    "task.reply": ("Antwoord van klant", "Customer answered"),
    "task.call": ("Bellen", "Call"),
    "task.no_channel": ("Klant zoeken op het platform", "Find the customer on the platform"),
    # --- the lead page ---------------------------------------------------------------------
    "lead.title": ("Lead", "Lead"),
    "lead.back": ("Terug naar taken", "Back to tasks"),
    "lead.blind": (
        "Pak deze taak op om de klant en het gesprek te zien.",
        "Claim this task to see the customer and the conversation.",
    ),
    "lead.claimed_by_other": (
        "{name} heeft deze taak opgepakt.",
        "{name} has claimed this task.",
    ),
    "lead.customer": ("Klant", "Customer"),
    "lead.no_name": ("(geen naam)", "(no name)"),
    "lead.message": ("Eerste bericht", "First message"),
    "lead.vehicle": ("Auto", "Vehicle"),
    "lead.appointment": ("Afspraak", "Appointment"),
    "lead.closed": ("Deze lead is afgesloten: {status}.", "This lead is closed: {status}."),
    "lead.reason": ("Reden: {reason}", "Reason: {reason}"),
    "thread.title": ("Gesprek", "Conversation"),
    "thread.empty": ("Nog geen berichten.", "No messages yet."),
    "thread.dropped": (
        "{n} oudere berichten worden niet meer bewaard.",
        "{n} older messages are no longer kept.",
    ),
    "thread.trimmed": ("(ingekort)", "(trimmed)"),
    "thread.auto_reply": ("automatisch antwoord", "auto-reply"),
    "thread.stop": ("afgemeld (STOP)", "opted out (STOP)"),
    "thread.start": ("weer aangemeld (START)", "opted back in (START)"),
    "thread.failed": ("niet aangekomen: {reason}", "not delivered: {reason}"),
    "by.blanco": ("Blanco", "Blanco"),
    "by.customer": ("Klant", "Customer"),
    "reply.title": ("Antwoorden", "Reply"),
    "reply.text": ("Bericht", "Message"),
    "reply.channel": ("Via", "Via"),
    "reply.send": ("Versturen", "Send"),
    "reply.none": (
        "Geen geschreven kanaal bereikt deze klant.",
        "No written channel reaches this customer.",
    ),
    "reply.window_open": (
        "WhatsApp-venster nog {left} open.",
        "WhatsApp window open for another {left}.",
    ),
    "reply.window_closed": (
        "Het WhatsApp-venster van 24 uur is dicht: alleen het goedgekeurde sjabloon kan.",
        "The 24-hour WhatsApp window is closed: only the approved template can be sent.",
    ),
    "reply.window_closed_no_template": (
        "Het WhatsApp-venster van 24 uur is dicht en de dealer heeft geen goedgekeurd "
        "sjabloon: kies een ander kanaal.",
        "The 24-hour WhatsApp window is closed and the dealer has no approved template: "
        "choose another channel.",
    ),
    "reply.template": (
        "Stuur het goedgekeurde WhatsApp-sjabloon",
        "Send the approved WhatsApp template",
    ),
    "call.title": ("Gesprek vastleggen", "Log a call"),
    "call.reached": ("Bereikt", "Reached"),
    "call.no_answer": ("Geen gehoor", "No answer"),
    "call.voicemail": ("Voicemail", "Voicemail"),
    "call.wrong_number": ("Verkeerd nummer", "Wrong number"),
    "appointment.title": ("Afspraak maken", "Book an appointment"),
    "appointment.date": ("Datum", "Date"),
    "appointment.time": ("Tijd", "Time"),
    "appointment.kind": ("Soort", "Kind"),
    "appointment.book": ("Afspraak vastleggen", "Book"),
    "appointment.zone": ("Tijden in {zone}.", "Times in {zone}."),
    "appointment.showroom": ("Bezoek showroom", "Showroom visit"),
    "appointment.test_drive": ("Proefrit", "Test drive"),
    "appointment.call": ("Telefoongesprek", "Phone call"),
    "appointment.video": ("Videogesprek", "Video call"),
    "outcome.title": ("Uitkomst", "Outcome"),
    "outcome.appointment": ("Afspraak", "Appointment"),
    "outcome.shown": ("Gekomen", "Showed up"),
    "outcome.no_show": ("Niet gekomen", "No-show"),
    "outcome.won": ("Verkocht", "Won"),
    "outcome.lost": ("Verloren", "Lost"),
    "outcome.lost.reason": ("Reden (verplicht)", "Reason (required)"),
    "outcome.not_interested": ("Geen interesse", "Not interested"),
    "outcome.unreachable": ("Onbereikbaar", "Unreachable"),
    "cadence.title": ("Opvolging", "Follow-up"),
    "cadence.pause": ("Opvolging pauzeren", "Pause the follow-up"),
    "cadence.resume": ("Opvolging hervatten", "Resume the follow-up"),
    "status.contacting": ("in opvolging", "being contacted"),
    "status.engaged": ("in gesprek", "engaged"),
    "status.paused": ("gepauzeerd", "paused"),
    "status.appointment": ("afspraak", "appointment"),
    "status.shown": ("gekomen", "showed up"),
    "status.won": ("verkocht", "won"),
    "status.lost": ("verloren", "lost"),
    "status.unreachable": ("onbereikbaar", "unreachable"),
    "status.opted_out": ("afgemeld", "opted out"),
    "channel.email": ("e-mail", "e-mail"),
    "channel.sms": ("sms", "SMS"),
    "channel.whatsapp": ("WhatsApp", "WhatsApp"),
    "channel.chat": ("platformchat", "platform chat"),
    "channel.phone": ("telefoon", "phone"),
    "channel.inquiry": ("aanvraag", "inquiry"),
    "delivery.queued": ("in de wachtrij", "queued"),
    "delivery.sent": ("verstuurd", "sent"),
    "delivery.delivered": ("afgeleverd", "delivered"),
    "delivery.read": ("gelezen", "read"),
    "delivery.undelivered": ("niet afgeleverd", "undelivered"),
    "delivery.failed": ("mislukt", "failed"),
    "kind.brochure_request": ("brochure", "brochure request"),
    "kind.price_request": ("prijsvraag", "price question"),
    "kind.test_drive": ("proefrit", "test drive"),
    "kind.trade_in": ("inruil", "trade-in"),
    "kind.offer": ("bod", "offer"),
    "kind.callback_request": ("terugbelverzoek", "callback request"),
    "kind.general": ("algemene vraag", "general question"),
    # --- the results page (managers) ------------------------------------------------------
    "nav.tasks": ("Taken", "Tasks"),
    "nav.results": ("Resultaten", "Results"),
    "results.title": ("Resultaten", "Results"),
    "results.from": ("Van", "From"),
    "results.to": ("Tot en met", "To"),
    "results.by": ("Per", "By"),
    "results.show": ("Tonen", "Show"),
    "results.csv": ("Download CSV", "Download CSV"),
    "results.period": (
        "{leads} leads binnengekomen van {first} tot en met {last}.",
        "{leads} leads arrived from {first} to {last}.",
    ),
    "results.funnel": ("Funnel per {by}", "Funnel by {by}"),
    "results.group": ("Groep", "Group"),
    "results.total": ("Totaal", "Total"),
    "results.none": ("(geen)", "(none)"),
    "results.small": ("te weinig om te vergelijken", "too few to compare"),
    "results.empty": (
        "Geen leads in deze periode.",
        "No leads in this period.",
    ),
    "results.chart": (
        "{stage}: deel van de leads, met 95%-interval",
        "{stage}: share of leads, with 95% interval",
    ),
    "results.whiskers": (
        "De streepjes om elke balk tonen het 95%-interval: waar de echte kans waarschijnlijk ligt.",
        "The whisker on each bar is the 95% interval: where the true rate probably lies.",
    ),
    "grouping.source": ("bron", "source"),
    "grouping.kind": ("soort", "kind"),
    "grouping.first_channel": ("eerste kanaal", "first channel"),
    "grouping.contact_quality": ("contactgegevens", "contact data"),
    "grouping.salesperson": ("verkoper", "salesperson"),
    "stage.leads": ("Leads", "Leads"),
    "stage.contacted": ("Contact", "Contacted"),
    "stage.appointment": ("Afspraak", "Appointment"),
    "stage.shown": ("Gekomen", "Showed up"),
    "stage.won": ("Verkocht", "Won"),
    "stage.lost": ("Verloren", "Lost"),
    "stage.unreachable": ("Onbereikbaar", "Unreachable"),
    "stage.opted_out": ("Afgemeld", "Opted out"),
    "quality.complete": ("compleet", "complete"),
    "quality.email_only": ("alleen e-mail", "e-mail only"),
    "quality.phone_only": ("alleen telefoon", "phone only"),
    "quality.placeholder_phone": ("nummer als 0000000000", "placeholder phone"),
    "quality.no_channel": ("geen kanaal", "no channel"),
    "channel.none": ("geen kanaal", "no channel"),
    "audit.title": ("Vooroordelen getoetst", "Perception audit"),
    "audit.intro": (
        "Elke lead krijgt dezelfde opvolging. Hier staan de leads waar de branche aan twijfelt "
        "naast de leads die zij vertrouwt. Een verschil telt pas als de 95%-intervallen "
        "elkaar niet overlappen.",
        "Every lead gets the same follow-up. Here the leads the trade doubts stand beside the "
        "ones it trusts. A difference counts only when the 95% intervals do not overlap.",
    ),
    "audit.leads": ("{n} tegenover {m} leads", "{n} against {m} leads"),
    "audit.contact_quality.title": (
        "Nummer als 0000000000 of geen telefoon, tegenover complete gegevens",
        "Placeholder or missing phone against complete contact data",
    ),
    "audit.contact_quality.doubted": ("Geen bruikbaar nummer", "No usable phone number"),
    "audit.contact_quality.trusted": ("Complete gegevens", "Complete contact data"),
    "audit.kind.title": (
        "Brochureaanvragen en lage biedingen, tegenover proefritten en prijsvragen",
        "Brochure requests and low bids against test drives and price questions",
    ),
    "audit.kind.doubted": ("Brochure en bod", "Brochures and bids"),
    "audit.kind.trusted": ("Proefrit en prijsvraag", "Test drives and prices"),
    "audit.source.title": (
        "{source} tegenover alle andere bronnen",
        "{source} against all other sources",
    ),
    "audit.source.trusted": ("Alle andere bronnen", "All other sources"),
    "audit.this": ("deze soort lead", "this kind"),
    "audit.this_source": ("deze bron", "this source"),
    "audit.won.no_evidence": (
        "Geen bewijs dat {this} slechter converteert.",
        "No evidence that {this} converts worse.",
    ),
    "audit.won.worse": (
        "Minder vaak verkocht, buiten het toeval: de intervallen overlappen niet. "
        "Kijk naar hoe deze leads opgevolgd worden, niet naar de leads.",
        "Won less often, beyond chance: the intervals do not overlap. "
        "Look at how these leads are followed up, not at the leads.",
    ),
    "audit.won.better": (
        "Vaker verkocht, buiten het toeval: de intervallen overlappen niet.",
        "Won more often, beyond chance: the intervals do not overlap.",
    ),
    "audit.contacted.no_evidence": (
        "Geen bewijs dat {this} minder vaak antwoordt.",
        "No evidence that {this} answers less often.",
    ),
    "audit.contacted.worse": (
        "Minder vaak contact, buiten het toeval: de intervallen overlappen niet. "
        "Kijk naar de kanalen waarop deze klanten benaderd worden.",
        "Contacted less often, beyond chance: the intervals do not overlap. "
        "Look at the channels these customers are reached on.",
    ),
    "audit.contacted.better": (
        "Vaker contact, buiten het toeval: de intervallen overlappen niet.",
        "Contacted more often, beyond chance: the intervals do not overlap.",
    ),
    "audit.too_few": (
        "Te weinig leads om te vergelijken ({n} tegenover {m}; minstens {least} aan elke kant).",
        "Too few leads to compare ({n} against {m}; at least {least} on each side).",
    ),
    "audit.none": (
        "Geen bronnen in deze periode.",
        "No sources in this period.",
    ),
    # --- refusals and errors ---------------------------------------------------------------
    "refused.title": ("Niet gelukt", "Not done"),
    "error.title": ("Dat lukt niet", "That did not work"),
    "error.forbidden": (
        "Deze lead of taak hoort bij een andere dealer.",
        "This lead or task belongs to another dealer.",
    ),
    "error.manager_only": ("Alleen een manager kan dit.", "Only a manager can do this."),
    "error.not_found": ("Deze pagina bestaat niet.", "This page does not exist."),
    "error.unknown_lead": (
        "Deze lead bestaat niet (meer).",
        "This lead does not exist (any more).",
    ),
    "error.unknown_task": (
        "Deze taak bestaat niet (meer).",
        "This task does not exist (any more).",
    ),
    "error.csrf": (
        "Dit formulier is verlopen. Laad de pagina opnieuw en probeer het nog eens.",
        "This form has expired. Reload the page and try again.",
    ),
    "error.invalid": ("Dit klopt nog niet: {detail}", "Please check this: {detail}"),
    "error.too_large": ("Dat is te veel tekst.", "That is too much text."),
    "error.unavailable": (
        "Blanco is even niet bereikbaar. Probeer het over een minuut opnieuw.",
        "Blanco cannot be reached right now. Try again in a minute.",
    ),
    "error.busy": (
        "Het is even erg druk. Probeer het zo opnieuw.",
        "It is very busy right now. Try again in a moment.",
    ),
    "error.internal": (
        "Er ging iets mis aan onze kant. Probeer het opnieuw.",
        "Something went wrong on our side. Please try again.",
    ),
    "error.home": ("Naar de taken", "Go to the tasks"),
    "invalid.text": (
        "schrijf een bericht (hoogstens 2000 tekens)",
        "write a message (at most 2000 characters)",
    ),
    "invalid.channel": ("kies een kanaal uit de lijst", "pick a channel from the list"),
    "invalid.key": ("laad de pagina opnieuw", "reload the page"),
    "invalid.when": ("vul een datum en tijd in", "enter a date and a time"),
    "invalid.choice": ("kies een van de knoppen", "pick one of the buttons"),
    "invalid.person": ("kies een verkoper van deze dealer", "pick a salesperson of this dealer"),
    "invalid.address": (
        "vul een e-mailadres of telefoonnummer in",
        "enter an e-mail address or a phone number",
    ),
    "invalid.reason": ("geef een reden", "give a reason"),
    "invalid.period": (
        "vul de datums in als JJJJ-MM-DD",
        "enter the dates as YYYY-MM-DD",
    ),
    "invalid.period_order": (
        "de begindatum ligt na de einddatum",
        "the first day is after the last day",
    ),
    "invalid.period_long": (
        "kies een periode van hoogstens twee jaar",
        "choose a period of at most two years",
    ),
    "invalid.grouping": ("kies een indeling uit de lijst", "pick a grouping from the list"),
    "window.hours": ("{h} u {m} min", "{h} h {m} min"),
    "window.minutes": ("{m} min", "{m} min"),
}


class Texts:
    """The texts of one locale: `t("key", n=3)`."""

    def __init__(self, locale: Locale) -> None:
        self.locale: Locale = locale
        self._index = 0 if locale == "nl" else 1

    def __call__(self, key: str, **values: object) -> str:
        text = TEXTS[key][self._index]
        return text.format(**values) if values else text

    def label(self, group: str, value: object) -> str:
        """The label of an engine value (`status`, `channel`, `kind` …); the value itself
        when a newer engine sends one this table does not know yet."""
        raw = str(getattr(value, "value", value))
        key = f"{group}.{raw}"
        return self(key) if key in TEXTS else raw.replace("_", " ")


def preferred_locale(accept_language: str | None, default: Locale) -> Locale:
    """The first of nl / en the browser asks for (`Accept-Language`), else `default`."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("nl"):
            return "nl"
        if tag.startswith("en"):
            return "en"
    return default
