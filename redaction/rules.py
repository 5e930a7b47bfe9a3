"""Keep secrets out of the record: passwords, keys, tokens, codes and card numbers.

Everything that is logged, put in a ticket or sent to the warehouse passes through `redact`
(a user reference through `redact_user_ref`, a reply to a code prompt through `redact_code`).
It errs on the side of hiding too much: a redacted word costs nothing, a leaked password a lot.

What is hidden, each secret replaced by `[REDACTED]`:

- Vendor keys and tokens, found by the patterns of Yelp's detect-secrets plugins, used as a
  library (built once at import; no detect-secrets settings, scanning or verification calls):
  AWS, Azure storage, GitHub, GitLab, Slack, Stripe, Twilio, npm, OpenAI, SendGrid, Discord,
  ...; and the formats they miss: `github_pat_` tokens, Google API keys, OpenAI project keys,
  bare npm tokens, bearer tokens, JWTs, passwords in URLs and URL query strings, BitLocker
  recovery keys and product keys.
- Private keys, from their BEGIN line to their END line, or to the end of the text when the
  END line is missing.
- High-entropy strings: random-looking base64 (mixed case and digits, few long runs of one
  kind of character) and hex of 32 characters or more, by detect-secrets' entropy measure.
- Assignments `password=…`, `api_key: "…"` (detect-secrets' keyword rules) and phrases in
  English, German, Spanish and French: "the password for the wifi is …", "Passwort ist …",
  "Kennwort lautet …", "contraseña es …", "mot de passe est …", "mdp : …", "… is my password",
  user and password pairs ("user jdoe pass …", "credentials are jdoe / …"). What follows the
  phrase is hidden to the end of its clause (a passphrase is several words), unless it reads
  as a description ("is expired", "ist abgelaufen", "es correcta pero …").
- Password-like words (upper and lower case, digits, symbols) in a message about passwords.
- Payment card numbers (Luhn-checked, of a card brand's prefix and length).
- One-time codes: a message that is essentially a 4-8 digit number, and a code after a code
  word ("the code is 123456"); `redact_code` also hides every 4-8 digit number.

A short message that is mostly secret is replaced as a whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.keyword import CONFIG_DENYLIST_REGEX_TO_GROUP
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

MASK = "[REDACTED]"

Span = tuple[int, int]

# -- vendor formats ---------------------------------------------------------------------------

_VENDOR_PLUGINS: tuple[RegexBasedDetector, ...] = (
    ArtifactoryDetector(), AWSKeyDetector(), AzureStorageKeyDetector(), BasicAuthDetector(),
    CloudantDetector(), DiscordBotTokenDetector(), GitHubTokenDetector(), GitLabTokenDetector(),
    IbmCloudIamDetector(), IbmCosHmacDetector(), MailchimpDetector(), NpmDetector(),
    OpenAIDetector(), PypiTokenDetector(), SendGridDetector(), SlackDetector(),
    SoftlayerDetector(), SquareOAuthDetector(), StripeDetector(), TelegramBotTokenDetector(),
    TwilioKeyDetector(),
)  # fmt: skip
_VENDOR_PATTERNS = tuple(pattern for plugin in _VENDOR_PLUGINS for pattern in plugin.denylist)
_KEY_BEGIN = tuple(PrivateKeyDetector().denylist)
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*-----|---- END [A-Z0-9 ]*----")
_BASE64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()
# Formats the plugins miss (or only find part of); a pattern's secret is its `secret` group
# when it has one, else the whole match.
_OWN_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\bgithub_pat_\w{22,}",
        r"\bgh[pousr]_[A-Za-z0-9_]{20,}",
        r"\bsk-(?:[a-z]+-)?[A-Za-z0-9_-]{20,}",  # OpenAI-style keys, project keys included
        r"\bAIza[0-9A-Za-z_-]{35}",  # Google API keys
        r"\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}",
        r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{10,}",
        r"\bnpm_[A-Za-z0-9]{36}",
        r"\bgl[a-z]{2,5}-[\w-]{20,}",
        r"\beyJ[\w-]{8,}=*\.[\w-]{8,}=*(?:\.[\w-]*=*)?",  # JWT, signature included
        r"(?i)\b(?:bearer|basic)\s+(?P<secret>[\w.~+/-]{16,}=*)",
        r"(?<![\w+.-])[a-zA-Z][\w+.-]*://[^\s:/@]+:(?P<secret>[^\s@/]+)@",  # user:password@host
        r"(?i)[?&#](?:access_token|id_token|refresh_token|token|api_?key|key|sig|signature|"
        r"secret|client_secret|password|passwd|pwd|pass|auth|code)=(?P<secret>[^&\s#]+)",
        r"\b\d{6}(?:-\d{6}){7}\b",  # BitLocker recovery key
        r"\b[A-Z0-9]{5}(?:-[A-Z0-9]{5}){4}\b",  # product key
    )
)

# A vendor secret has a run of 16 such characters that is not a plain word, or sits in a URL
# or an assignment: a text without any is not scanned for them.
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9_+/=-])[A-Za-z0-9_+/=-]{16,}")
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z]+(?:-[A-Za-z][a-z]+)*")

# -- word lists for phrases -------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that begin ordinary prose, not a secret, after "password is".
_FUNCTION = _words(
    "the a an my your our his her their its this that these those it i we you he she they me "
    "him us them there here what which who whose when where why how whether if because since "
    "as so and or but then than also just only even still already again now not no never too "
    "very quite really always sometimes often usually maybe perhaps probably apparently "
    "definitely somehow suddenly actually currently simply in on at to for of from by with "
    "without about into over under after before during until between through across against "
    "out off up down away back all any some each every both either none one same other another "
    "such more most less much many can can't cannot could couldn't will won't would wouldn't "
    "should shouldn't may might must do does did don't doesn't didn't is isn't are aren't was "
    "wasn't were weren't be been being have has had get gets got go goes went "
    "der die das den dem des ein eine einen einem einer eines mein meine meinen meinem meiner "
    "dein deine sein seine ihr ihre unser unsere es er sie ich wir du man diese dieser dieses "
    "jetzt nun noch schon wieder immer auch nur sehr nicht kein keine nie seit für von mit bei "
    "nach vor aus auf an im am zum zur über unter ohne gegen durch um bis und oder aber doch "
    "denn weil dass wenn als wie was wer wo warum ob da dann also eigentlich vielleicht wohl zu "
    "leider gerade bereits trotzdem mir mich dir "
    "el la los las lo un una unos unas mi mis tu tus su sus nuestro nuestra este esta esto ese "
    "esa eso yo él ella ellos ellas usted te se le les nos que qué cual cuál quien quién donde "
    "dónde cuando cuándo como cómo porque por para de del al en con sin sobre entre hasta desde "
    "y o pero ni sino también ya todavía aún ahora siempre nunca muy demasiado solo sólo igual "
    "mismo misma otra otro "
    "l' d' un une des du mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs ce cet "
    "cette ces ça cela je il elle on nous vous ils elles lui y quoi quel quelle où quand "
    "comment pourquoi parce car et ou mais donc pour avec sans sur sous dans chez depuis "
    "pendant avant après vers à au aux ne pas plus jamais toujours encore déjà maintenant "
    "aussi très trop bien même"
)
# Words that describe a password's state: what follows is prose.
_STATE = _words(
    "expired expiring expires locked blocked disabled deactivated suspended rejected refused "
    "declined compromised stolen leaked hacked forgotten lost gone missing reset changed wrong "
    "incorrect invalid unknown unavailable empty blank weak insecure required needed mandatory "
    "case case-sensitive broken failing failed nothing going about being "
    "abgelaufen gesperrt blockiert deaktiviert abgelehnt falsch ungültig unbekannt vergessen "
    "verloren weg geändert zurückgesetzt kompromittiert gestohlen leer schwach entfallen "
    "caducada caducado caducó expirada expirado expiró bloqueada bloqueado desactivada "
    "rechazada incorrecta incorrecto inválida inválido errónea erróneo olvidada perdida robada "
    "comprometida vacía débil "
    "expiré expirée bloqué bloquée désactivé désactivée refusé refusée rejeté rejetée incorrect "
    "incorrecte invalide faux fausse oublié oubliée perdu perdue volé volée compromis vide faible"
)
# Words that describe a password when prose follows ("correct but …"), and may also begin a
# passphrase ("correct horse battery staple").
_QUALITY = _words(
    "correct right fine ok okay good valid same different new old simple easy hard strong long "
    "short secure saved stored set sent working accepted known korrekt richtig gleich neu alt "
    "einfach sicher lang kurz gültig correcta correcto válida válido buena bueno nueva nuevo "
    "fácil segura larga corta bon bonne nouveau nouvelle ancien facile sûr court courte valide"
)
# Participles and adjectives by their ending, in lower case ("showing", "unreadable",
# "caducada", "gesperrt"): like `_QUALITY`.
_DESCRIPTIVE = re.compile(
    r"^[a-zäöüßéèàçñ]{4,}(?:ed|ing|ble|ant|ent|ous|ive|ful|less|ado|ada|ido|ida|ée|és)$"
    r"|^ge[a-zäöüß]{3,}t$"
)
# A code word next to these is not about a secret: "error code 403", "código de error".
_NOT_SECRET_CONTEXT = _words(
    "error errors erreur erreurs fehler status estado exit stop sortie salida source quell qr "
    "zip postal post area country dress promo discount response return http bar meeting "
    "tracking seguimiento suivi sécurité-sociale"
)

# -- phrase patterns --------------------------------------------------------------------------

_WORD = r"[^\s,.;:!?()\"'“”„«»]+"
_PASSWORD_NOUNS = (
    r"pass[ -]?(?:words?|wds?|phrases?|codes?|keys?)|pass(?=\s*[:=])|pwd|pw|"
    r"pins?(?:[ -]?(?:codes?|numbers?|nummer))?|otp|secrets?|credentials|creds|"
    r"zugangsdaten|anmeldedaten|login-?daten|geheimzahl|"
    r"contraseñ?as?|contrasenas?|claves?|credenciales|"
    r"mots? de passe|mdp|phrases? de passe|identifiants"
)
_KEY_NOUNS = (
    r"(?:api|access|secret|private|licen[cs]e|product|activation|wi-?fi|wlan|wpa[23]?|network|"
    r"recovery|encryption|bitlocker|ssh|security|client|app)[ -]?(?:keys?|secrets?)|tokens?|"
    r"jetons?|cl[ée]s?"
)
_CODE_NOUNS = (
    r"(?:one[- ]time|verification|security|authentication|auth|access|log[- ]?in|sign[- ]in|"
    r"sms|otp|2fa|mfa|backup|recovery|confirmation|pin|text)[ -]?codes?|"
    r"codes?(?:[ -](?:pin|mfa|otp|sms|2fa))?|c[óo]digos?|"
    r"(?:bestätigungs|sicherheits|einmal|zugangs|anmelde|verifizierungs|sms|pin)-?code"
)
# German compounds end in these: "WLAN-Passwort", "Domänenkennwort", "Wiederherstellungsschlüssel".
_COMPOUNDS = r"passw[oö]rt(?:e?s|er)?|kennw[oö]rt(?:e?s|er)?"
_NOUN = re.compile(
    rf"(?P<noun>\b(?:{_PASSWORD_NOUNS}|{_KEY_NOUNS}|{_CODE_NOUNS})|{_COMPOUNDS}|schlüssel)(?![\w-])",
)
_PASSWORD_NOUN = re.compile(rf"\b(?:{_PASSWORD_NOUNS})(?![\w-])|{_COMPOUNDS}")
# Stems of the nouns (of the password nouns, of set verbs, of user nouns): a text without
# any needs no phrase rule.
_PASSWORD_STEMS = (
    r"pass|pw|pin|otp|secret|cred|kennw|zugang|anmelde|login|geheim|contrase|clave|mdp|identif"
)
_STEMS = re.compile(rf"{_PASSWORD_STEMS}|key|token|schlüssel|jeton|cl[ée]|code|c[óo]dig")
_PASSWORD_STEM = re.compile(_PASSWORD_STEMS)
_SET_STEM = re.compile(r"set|chang|updat|switch|cambi|puse|mis")
_USER_STEM = re.compile(r"user|login|benutzer|usuario|utilisateur|identifiant")
_KEYWORD_STEM = re.compile(r"key|pass|pwd|secret|contras", re.IGNORECASE)
_PREPS = (
    r"for|of|on|at|in|from|with|to|für|fürs|vom|von|zum|zur|im|am|bei|des|de|del|para|en|du|"
    r"pour|sur|à|au|aux"
)
_DETS = (
    r"the|a|an|my|our|your|his|her|their|this|that|das|der|die|den|dem|ein|eine|einen|einem|"
    r"mein|meine|meinem|meinen|unser|unsere|el|la|los|las|mi|mis|tu|su|le|les|mon|ma|mes|ton|"
    r"ta|notre|votre|son|sa|un|une"
)
_RELATIVES = r"(?:that|which|que|den|das)\s+|qu'"
_PRONOUNS = r"(?:i|we|you|he|she|they|ich|wir|du|yo|je|nous|on)\s+|j'"
_AFTER_NOUN = (
    r"new|current|temporary|initial|default|admin|nueva|nuevo|actual|temporal|provisional|"
    r"nouveau|nouvelle|actuel|actuelle|temporaire|provisoire|now|jetzt|nun|ahora|maintenant|"
    r"wi-?fi|wlan|vpn|invités?|invitados?"
)
_QUALIFIER = (
    rf"(?:\s+(?:(?:{_PREPS})(?:\s+(?:{_DETS}))?(?:\s+{_WORD}){{1,2}}|[dl]'{_WORD}|"
    rf"(?:{_RELATIVES}){_WORD}(?:\s+{_WORD})?|(?:{_PRONOUNS}){_WORD}|(?:{_AFTER_NOUN})))"
)
_COPULA = (
    r"(?:\s+(?:is|was|are|were|(?:will|would|should|shall|must|could)\s+be|ha(?:s|d|ve)\s+been|"
    r"ist|war|wäre|waere|lautet|lautete|heißt|heisst|sind|waren|"
    r"es|era|será|sera|sería|seria|son|fue|est|était|etait|serait|sont)"
    r"(?:\s+(?:changed|set|reset|updated)\s+to)?\b|\s*['’]s\b|"
    r"\s+(?:(?:was|is|got|been)\s+)?(?:changed|set|reset|updated)\s+to\b|"
    r"\s*(?:[:=]|->|=>))"
)
_ADVERBS = (
    r"now|still|just|always|currently|simply|actually|literally|jetzt|nun|noch|immer|einfach|"
    r"ahora|todavía|aún|siempre|simplemente|maintenant|toujours|encore|juste|simplement|"
    r"actuellement"
)
# After a noun: "… for the wifi is ", "… lautet ", "… : "
_FORWARD = re.compile(
    rf"(?P<qualifier>{_QUALIFIER}{{0,3}}){_COPULA}(?:\s+(?:{_ADVERBS})\b)*[ \t:]*",
)
# "changed my password to …", "cambié la contraseña a/por …", "changé mon mot de passe en …"
_SET_TO = re.compile(
    rf"\b(?:set|changed?|reset|updated?|switched|cambi[ée]|puse|chang[ée]|mis)"
    rf"(?:\s+(?:{_DETS}))?(?:\s+{_WORD})?\s+{_NOUN.pattern}\s+(?:to|a|por|en|pour|à)\s+",
)
# After a noun: "… auf Winterzeit#9 geändert"
_SET_TO_DE = re.compile(
    r"\s+auf\s+(?P<secret>.{1,80}?)\s+(?:geändert|gesetzt|zurückgesetzt|umgestellt)\b"
)
# "jdoe / user jdoe pass …", "Benutzer: mmueller Passwort: …"
_PAIR = re.compile(
    r"\b(?:user(?:name)?|login|user\s?id|benutzer(?:name)?|usuario|utilisateur|identifiant)"
    rf"\s*[:=]?\s*{_WORD}[\s,;/]+(?:pass(?:word)?|pwd?|passwort|kennwort|contraseña|clave|mdp|"
    r"mot de passe)\b\s*[:=]?\s*",
)
_REVERSE = re.compile(
    r"\s+(?:is|was|ist|war|es|era|est|était)\s+(?:my|the|our|mein|meine|das|der|die|mi|la|el|"
    r"mon|ma|le)\s+(?:(?:new|neues?|nueva|nuevo|nouveau|nouvelle)\s+)?"
    rf"(?:{_PASSWORD_NOUNS}|{_CODE_NOUNS}|{_COMPOUNDS})"
    r"(?=\s*(?:[.,;!?)]|$|\s+(?:for|für|para|pour|de|del|du|and|und|y|et|but)\b))",
)
# "correct horse battery staple, that's my password"
_REVERSE_THAT = re.compile(
    r"[,;:]\s*(?:that|this|it|das|c'|eso|esa|ça)\s*(?:['’]s|is|was|ist|war|est|es|era)\s+"
    r"(?:my|the|mein|meine|das|der|die|mi|la|el|mon|ma|le)\s+(?:new\s+)?"
    rf"(?:{_PASSWORD_NOUNS}|{_CODE_NOUNS}|{_COMPOUNDS})\b"
)
_CODE_WORD = re.compile(r"c[oó]dig|code")
# After a noun: "… Summer2024!", "… 4711"
_NEXT_TOKEN = re.compile(r"\s+[\"'„«“]?(?P<token>[^\s\"'“”»]+)")
_CLAUSE_END = re.compile(r"[,;]\s|[.!?…](?=\s|$)|\n")
_CLAUSE_START = re.compile(r"[,;:.!?¿¡\n]")
_QUOTES = "\"'“”„«»‚‘’`"

# -- token shapes -----------------------------------------------------------------------------

_DIGIT_TOKEN = re.compile(r"(?<!\S)\S*?\d\S*")  # a word with a digit
_SYMBOLS = frozenset("!#$%&*+=?@^~|<>§€£{}[]")
_IDENTIFIER = re.compile(
    r"0[xX][0-9a-fA-F]+|"  # hex error codes
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|"  # e-mail addresses
    r"[a-zA-Z][\w+.-]*://\S*|www\.\S+|"  # URLs
    r"[\w-]+(?:\.[\w-]+)+|"  # host and file names, versions, dates, IP addresses
    r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|"  # MAC addresses
    r"[A-Z0-9_:/-]+"  # ticket numbers, serials, error names: no lower case
)
# Product names written like a password (a digit and both cases): 1Password, Office365, …
_PRODUCT = re.compile(
    r"1Password|(?:Office|Microsoft|Windows|Win|Outlook|Exchange|Server|SQL|Visio|Project|"
    r"Excel|Word|PowerPoint|Teams|Skype|Android|iOS|iPadOS|macOS|OSX|iPhone|iPad|Galaxy|Pixel|"
    r"Surface|ThinkPad|Latitude|MacBook|Wi-?Fi|Gen|Zoom|Chrome|Firefox|Edge)[-_]?\d+\w*",
    re.IGNORECASE,
)
_HEX_CODE = re.compile(r"0x[0-9a-f]+")  # an error code, lower-cased
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{20,}")
_HEX_RUN = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}")
_RUNS = re.compile(r"[a-z]+|[A-Z]+|[0-9]+|[^a-zA-Z0-9]+")

# -- numbers ----------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
_DIGITS = re.compile(r"(?<![\w.,:/-])\d(?:[ -]?\d){3,7}(?![\w,:/]|[.-]\d)")
_CODE_SHAPED = re.compile(r"(?<!\w)\d(?:[ -]?\d){3,7}(?!\w)")

# -- user references --------------------------------------------------------------------------

_CHANNEL_PREFIX = re.compile(r"^[a-z]+:")  # slack:U0123ABCD, teams:…, unknown:jdoe
_USER_REF = re.compile(r"[A-Za-z0-9._%+@:-]{1,128}")
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
USER_REF_CACHE_SIZE = 4096
MAX_USER_REF_CHARS = 320  # an e-mail address is at most 254 characters, a `channel:` before it


def redact(text: str) -> str:
    """Return the text with every secret replaced by `[REDACTED]` (see the module's doc);
    a short one-line message that is mostly secret, or essentially a number, becomes `[REDACTED]`.
    """
    if _is_code_shaped(text):
        return MASK
    spans = _merge(_find_secrets(text))
    if not spans:
        return text
    if _mostly_secret(text, spans):
        return MASK
    return _apply(text, spans)


def redact_code(text: str) -> str:
    """Redact a reply to a code prompt: as `redact`, and every 4-8 digit number too."""
    redacted = redact(text)
    return _DIGITS.sub(MASK, redacted)


def redact_user_ref(ref: str) -> str:
    """Return a user reference (id, username, e-mail, `channel:id`) as it is, or `[REDACTED]`
    when it may be a secret: spaces, unusual characters, upper and lower case with digits,
    anything `redact` would hide, or more than `MAX_USER_REF_CHARS` characters. The same
    people write again and again, so the answers for the last `USER_REF_CACHE_SIZE`
    references are remembered (never for a longer one, which no cache should hold)."""
    return MASK if len(ref) > MAX_USER_REF_CHARS else _redact_user_ref(ref)


@lru_cache(maxsize=USER_REF_CACHE_SIZE)
def _redact_user_ref(ref: str) -> str:
    value = ref.strip()
    if _EMAIL.fullmatch(value):
        return ref
    value = _CHANNEL_PREFIX.sub("", value)
    if not _USER_REF.fullmatch(value) or _password_like(value) or redact(value) != value:
        return MASK
    return ref


# -- finding secrets ---------------------------------------------------------------------------


def _find_secrets(text: str) -> Iterator[Span]:
    lower = _lower(text)
    yield from _vendor_secrets(text)
    yield from _private_keys(text)
    yield from _keyword_values(text)
    yield from _high_entropy(text)
    yield from _cards(text)
    yield from _phrases(text, lower)
    yield from _password_like_words(text, lower)


def _vendor_secrets(text: str) -> Iterator[Span]:
    if not _may_hold_vendor_secret(text):
        return
    for pattern in (*_VENDOR_PATTERNS, *_OWN_PATTERNS):
        for match in pattern.finditer(text):
            yield _trimmed(text, _secret_span(match))


def _may_hold_vendor_secret(text: str) -> bool:
    if ("://" in text and "@" in text) or "=" in text:
        return True
    return any(not _PLAIN_WORD.fullmatch(run) for run in _LONG_RUN.findall(text))


def _secret_span(match: re.Match[str]) -> Span:
    """The span of a match's secret: its `secret` group, else its longest group when that is
    at least 6 characters long (the password in `://user:password@`), else the whole match."""
    named = match.re.groupindex.get("secret")
    if named is not None and match.group(named) is not None:
        return match.span(named)
    groups = [index for index in range(1, (match.re.groups or 0) + 1) if match.group(index)]
    longest = max(groups, key=lambda index: len(match.group(index)), default=None)
    if longest is not None and len(match.group(longest)) >= 6:
        return match.span(longest)
    return match.span()


def _trimmed(text: str, span: Span) -> Span:
    """The span without the spaces and quotes some patterns match around a secret."""
    start, end = span
    while start < end and (text[start].isspace() or text[start] in _QUOTES):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _QUOTES):
        end -= 1
    return start, end


def _private_keys(text: str) -> Iterator[Span]:
    """From a private key's BEGIN line to its END line, or to the end of the text."""
    if "PRIVATE KEY" not in text and "PuTTY" not in text:
        return
    for pattern in _KEY_BEGIN:
        for match in pattern.finditer(text):
            start = text.rfind("-----", max(0, match.start() - 6), match.start())
            start = start if start >= 0 else match.start()
            end = _KEY_END.search(text, start)
            yield start, end.end() if end else len(text)


def _keyword_values(text: str) -> Iterator[Span]:
    """Values assigned to secret-sounding keys (`password=…`, `api_key: "…"`), line by line
    (the rules are made for lines), unless the value reads as prose ("Password: expired")."""
    if not (":" in text or "=" in text or ";" in text) or not _KEYWORD_STEM.search(text):
        return
    offset = 0
    for line in text.split("\n"):
        for pattern, group in CONFIG_DENYLIST_REGEX_TO_GROUP.items():
            for match in pattern.finditer(line):
                start, end = match.span(group)
                if not _is_prose(line[start:end]):
                    yield offset + start, offset + end
        offset += len(line) + 1


def _high_entropy(text: str) -> Iterator[Span]:
    for match in _CANDIDATE.finditer(text):
        if _random_looking(match[0].strip("-_/=")):
            yield match.span()
    for match in _HEX_RUN.finditer(text):
        token = match[0]
        if not token.isdigit() and _HEX.calculate_shannon_entropy(token) > _HEX.entropy_limit:
            yield match.span()


def _random_looking(token: str) -> bool:
    """Base64 that looks random: upper and lower case and a digit (or + and /), entropy near
    the most its length allows, and short runs of one kind of character (words and paths
    have long ones)."""
    if len(token) < 20 or _UUID.fullmatch(token):
        return False
    if not (_has_upper(token) and _has_lower(token)):
        return False
    if not (any(char.isdigit() for char in token) or "+" in token or "/" in token):
        return False
    letters = re.sub(r"[/_=-]", "", token)
    entropy = _BASE64.calculate_shannon_entropy(letters)
    if entropy < min(_BASE64.entropy_limit, math.log2(len(letters)) - 0.9):
        return False
    return len(_RUNS.findall(letters)) / len(letters) >= 0.4


def _cards(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match[0])
        if _card_brand(digits) and _luhn(digits):
            yield match.span()


def _card_brand(digits: str) -> bool:
    """Whether the number has a card brand's prefix and length (Visa, Mastercard, Amex,
    Discover, JCB, Diners, Maestro, UnionPay)."""
    length, two, four = len(digits), int(digits[:2]), int(digits[:4])
    return (
        (digits[0] == "4" and length in (13, 16, 19))
        or ((51 <= two <= 55 or 2221 <= four <= 2720) and length == 16)
        or (two in (34, 37) and length == 15)
        or ((digits.startswith(("6011", "65", "62")) or 644 <= int(digits[:3]) <= 649)
            and 16 <= length <= 19)
        or (3528 <= four <= 3589 and 16 <= length <= 19)
        or ((two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305) and 14 <= length <= 19)
        or ((two == 50 or 56 <= two <= 69) and 12 <= length <= 19)
    )  # fmt: skip


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


# -- phrases -----------------------------------------------------------------------------------


def _phrases(text: str, lower: str) -> Iterator[Span]:
    """Secrets introduced by words ("password is …", "… ist mein Passwort", "user … pass …");
    the patterns are matched on the lower-cased text (much faster than ignoring case)."""
    if not _STEMS.search(lower):
        return
    for noun in _NOUN.finditer(lower):
        yield from _after_noun(text, lower, noun)
    for pattern, stem in ((_SET_TO, _SET_STEM), (_PAIR, _USER_STEM)):
        if stem.search(lower):
            for match in pattern.finditer(lower):
                yield from _rest_of_clause(text, match.end())
    for pattern in (_REVERSE, _REVERSE_THAT):
        for match in pattern.finditer(lower):
            yield from _before(text, match.start())


def _after_noun(text: str, lower: str, noun: re.Match[str]) -> Iterator[Span]:
    """The secret a noun introduces: the rest of the clause after a copula or a colon, the
    next word when it looks like a password or code, or the words before "geändert"."""
    forward = _FORWARD.match(lower, noun.end())
    if _not_secret_context(lower, noun, forward):
        return
    if forward:
        yield from _rest_of_clause(text, forward.end())
    token = _NEXT_TOKEN.match(text, noun.end())
    if token and _secret_token(token["token"]):
        yield token.span("token")
    german = _SET_TO_DE.match(lower, noun.end())
    if german and not _is_prose(text[german.start("secret") : german.end("secret")]):
        yield german.span("secret")


def _not_secret_context(lower: str, noun: re.Match[str], forward: re.Match[str] | None) -> bool:
    """Whether a code word is an error, status, exit … code ("error code 403", "código de
    error es 403"), by the word before it and the words up to its copula."""
    if not _CODE_WORD.search(noun[0]):
        return False
    before = lower[max(0, noun.start() - 20) : noun.start()].split()
    phrase = f"{noun[0]} {forward[0] if forward else ''}"
    phrase = phrase.replace("-", " ").replace("'", " ").replace("’", " ").split()
    return any(_bare(word) in _NOT_SECRET_CONTEXT for word in [*before[-1:], *phrase])


def _lower(text: str) -> str:
    """The text in lower case, one character for one (so that positions carry over)."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(char.lower()[:1] for char in text)


def _rest_of_clause(text: str, start: int) -> Iterator[Span]:
    """What follows a phrase up to the end of its clause, unless it reads as prose (a
    sentence-ending mark right after the secret is hidden with it). A clause without an end
    in the next 300 characters runs to the end of the line."""
    end = _CLAUSE_END.search(text, start, start + 300)
    if end is None:
        newline = text.find("\n", start)
        stop = len(text) if newline < 0 else newline
    elif end[0][:1] in ".!?…" and end.start() > start:
        stop = end.end()
    else:
        stop = end.start()
    rest = text[start:stop]
    if rest.strip() and not rest.lstrip().startswith(MASK) and not _is_prose(rest):
        yield start, stop


def _before(text: str, end: int) -> Iterator[Span]:
    """The words before "is my password" back to the clause's start or a function word."""
    window = max(0, end - 200)
    clause = max((m.end() for m in _CLAUSE_START.finditer(text, window, end)), default=window)
    words = list(re.finditer(r"\S+", text[clause:end]))
    start = end
    for word in reversed(words):
        if _bare(word[0]) in _FUNCTION:
            break
        start = clause + word.start()
    if start < end and not _is_prose(text[start:end]):
        yield start, end


def _is_prose(rest: str) -> bool:
    """Whether words after "password is" describe it ("expired", "the same", "correct but …",
    "12 characters long") rather than give it."""
    stripped = rest.strip()
    if not stripped or stripped[0] in _QUOTES:
        return False
    written = stripped.split(maxsplit=2)
    words = [_bare(word) for word in written[:2]]
    first, following = words[0], words[1] if len(words) > 1 else None
    if first in _FUNCTION or first in _STATE or (len(words) == 1 and _HEX_CODE.fullmatch(first)):
        return True
    if first.isdigit() and len(first) <= 3 and following and following.isalpha():
        return True
    as_written = written[0].strip(_QUOTES + ".,;:!?()")
    describes = first in _QUALITY or bool(_DESCRIPTIVE.match(as_written))
    return describes and (following is None or following in _FUNCTION or following in _STATE)


def _bare(word: str) -> str:
    return word.strip(_QUOTES + ".,;:!?()¿¡").lower()


def _secret_token(token: str) -> bool:
    """Whether the word right after "password"/"PIN"/"code" is the secret: letters with
    digits or symbols, or a number of 4 digits or more, and not an identifier."""
    token = token.rstrip(".,;:!?)")
    if token.isdigit():
        return len(token) >= 4
    has_letter = any(char.isalpha() for char in token)
    has_other = any(char.isdigit() or char in _SYMBOLS for char in token)
    return has_letter and has_other and not _identifier(token)


def _identifier(token: str) -> bool:
    """A ticket number, error code, version, address, serial or product name."""
    return bool(_IDENTIFIER.fullmatch(token) or _PRODUCT.fullmatch(token))


# -- password-like words -----------------------------------------------------------------------


def _password_like_words(text: str, lower: str) -> Iterator[Span]:
    """Words shaped like a password: anywhere when they mix upper and lower case, digits and
    a symbol; in a message about passwords when they mix letters with digits or symbols."""
    about_passwords = bool(_PASSWORD_STEM.search(lower) and _PASSWORD_NOUN.search(lower))
    for match in _DIGIT_TOKEN.finditer(text):
        token = match[0].strip(_QUOTES + ".,;:!?()[]{}<>*")
        if not token or _identifier(token) or _EMAIL.search(token):
            continue
        if _strong_password(token) or (about_passwords and _password_like(token)):
            start = match.start() + match[0].index(token)
            yield start, start + len(token)


def _password_like(token: str) -> bool:
    """Letters and digits, with upper and lower case or a symbol."""
    has_letter = any(char.isalpha() for char in token)
    has_digit = any(char.isdigit() for char in token)
    mixed_case = _has_upper(token) and _has_lower(token)
    return has_letter and has_digit and (mixed_case or any(c in _SYMBOLS for c in token))


def _strong_password(token: str) -> bool:
    """Upper and lower case, a digit and a symbol, 8 characters or more."""
    return (
        len(token) >= 8
        and _has_upper(token)
        and _has_lower(token)
        and any(char.isdigit() for char in token)
        and any(char in _SYMBOLS for char in token)
    )


def _has_upper(token: str) -> bool:
    return any(char.isupper() for char in token)


def _has_lower(token: str) -> bool:
    return any(char.islower() for char in token)


# -- whole messages and masking ----------------------------------------------------------------


# Words that say what a number is when it is not a secret: "ext. 4471", "room 2304", "Build 22631".
_NUMBER_LABELS = _words(
    "ext extension room build version ver floor desk ticket inc asset tag port error kb phone "
    "tel office durchwahl raum zimmer etage sala piso extensión salle bureau étage poste"
)
_LABEL_WORD = re.compile(r"[^\W\d_]+")


def _is_code_shaped(text: str) -> bool:
    """A short message that is essentially a 4-8 digit number ("482913", "code: 558 201"), unless
    a word says what else the number is ("ext. 4471")."""
    stripped = text.strip()
    if len(stripped) > 40 or "\n" in stripped or _CODE_SHAPED.search(stripped) is None:
        return False
    if not _NUMBER_LABELS.isdisjoint(_LABEL_WORD.findall(stripped.lower())):
        return False
    digits = sum(char.isdigit() for char in stripped)
    letters = sum(char.isalpha() for char in stripped)
    return digits >= letters


def _mostly_secret(text: str, spans: list[Span]) -> bool:
    """A one-line message of which secrets make most."""
    stripped = text.strip()
    if "\n" in stripped or len(stripped) > 200:
        return False
    hidden = sum(end - start for start, end in spans)
    return hidden >= 0.6 * len(stripped)


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _apply(text: str, spans: list[Span]) -> str:
    parts, position = [], 0
    for start, end in spans:
        parts += [text[position:start], MASK]
        position = end
    parts.append(text[position:])
    return "".join(parts)
