"""The sign-in email: the one-time link, in the customer's language (fr or en; a manager's: their shops'), sent
over SMTP (servicekit.mail) once the link is committed. A failure is logged, never shown to the caller: the answer to a
link request says nothing about who is a customer, and the customer can ask again."""

from __future__ import annotations

import html
import logging

from servicekit.mail import Email, Smtp, SmtpSettings, build_message, message_id_for
from subscription_service.service_layer.sign_in import SignInMail

log = logging.getLogger("subscription_service.sign_in")

WORDS = {
    "en": {"subject": "Your sign-in link for {shop}",
           "body": "Hello,\n\nHere is your link to sign in to {shop}, where you can save your card and manage your "
                   "subscriptions:\n\n{url}\n\nIt works once, for {minutes} minutes. If you did not ask for it, "
                   "ignore this email: nothing happens without the link.\n",
           "button": "Sign in"},
    "fr": {"subject": "Votre lien de connexion à {shop}",
           "body": "Bonjour,\n\nVoici votre lien pour vous connecter à {shop}, où vous pouvez enregistrer votre "
                   "carte et gérer vos abonnements :\n\n{url}\n\nIl fonctionne une seule fois, pendant {minutes} "
                   "minutes. Si vous ne l'avez pas demandé, ignorez ce message : rien ne se passe sans ce lien.\n",
           "button": "Me connecter"},
}
MANAGER_WORDS = {  # {shop}: the shops the address manages
    "en": {"subject": "Your sign-in link to manage {shop}",
           "body": "Hello,\n\nHere is your link to sign in to the console of {shop}, where you manage the shop:"
                   "\n\n{url}\n\nIt works once, for {minutes} minutes. If you did not ask for it, ignore this "
                   "email: nothing happens without the link.\n",
           "button": "Sign in"},
    "fr": {"subject": "Votre lien de connexion pour gérer {shop}",
           "body": "Bonjour,\n\nVoici votre lien pour vous connecter à l'espace de gestion de {shop} :\n\n{url}"
                   "\n\nIl fonctionne une seule fois, pendant {minutes} minutes. Si vous ne l'avez pas demandé, "
                   "ignorez ce message : rien ne se passe sans ce lien.\n",
           "button": "Me connecter"},
}


def render(mail: SignInMail) -> Email:
    words = (MANAGER_WORDS if mail.role == "manager" else WORDS).get(mail.locale, WORDS["en"])
    text = words["body"].format(shop=mail.shop_name, url=mail.url, minutes=mail.ttl_minutes)
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip() and p.strip() != mail.url)
    link = f'<p><a href="{html.escape(mail.url, quote=True)}">{html.escape(words["button"])}</a></p>'
    first, _, rest = paragraphs.partition("</p>")
    return Email(mail.to, words["subject"].format(shop=mail.shop_name), text,
                 f'<!doctype html><html lang="{mail.locale}"><body>{first}</p>{link}{rest}</body></html>\n',
                 headers=(("Auto-Submitted", "auto-generated"),))


class SignInMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, mail: SignInMail) -> None:
        smtp = Smtp.from_settings(self.settings)  # one connection per message: requests run on many threads
        try:
            smtp.send(build_message(render(mail), sender=self.settings.mail_from,
                                    message_id=message_id_for(mail.link_id, self.settings.mail_from)))
        except Exception as exc:  # noqa: BLE001 - the customer asks again; the caller already had its 202
            log.warning("sign-in email not sent", extra={"link_id": mail.link_id, "error": str(exc)})
        finally:
            smtp.close()
