"""The fixed sentences the assistant says itself, in the languages it answers in.

Everything else in an answer comes from the documents through the reader; these are the only
words of our own (abstaining, progress), so they are translated here rather than generated.
"""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "abstain": {
        "en": "The program documents available to you do not cover this, so I can't answer it "
        "reliably. I can hand this question to your channel account manager.",
        "de": "Die für Sie verfügbaren Programmunterlagen behandeln diese Frage nicht, daher kann "
        "ich sie nicht verlässlich beantworten. Ich kann die Frage an Ihren Channel Account "
        "Manager weitergeben.",
        "es": "La documentación del programa a la que tiene acceso no cubre esto, así que no puedo "
        "responderlo con fiabilidad. Puedo pasar esta pregunta a su gestor de cuenta de canal.",
        "fr": "La documentation du programme à laquelle vous avez accès ne couvre pas ce point, je "
        "ne peux donc pas y répondre de façon fiable. Je peux transmettre la question à votre "
        "responsable de compte partenaire.",
        "ja": "ご利用いただけるプログラム資料にはこの内容が記載されていないため、確実にお答えできません。"
        "この質問をチャネルアカウントマネージャーに引き継ぐことができます。",
    },
    "searching": {
        "en": "Searching the program documents…",
        "de": "Programmunterlagen werden durchsucht…",
        "es": "Buscando en la documentación del programa…",
        "fr": "Recherche dans la documentation du programme…",
        "ja": "プログラム資料を検索しています…",
    },
    "reading": {
        "en": "Reading {n} sources…",
        "de": "{n} Quellen werden gelesen…",
        "es": "Leyendo {n} fuentes…",
        "fr": "Lecture de {n} sources…",
        "ja": "{n} 件の資料を読んでいます…",
    },
    "writing": {
        "en": "Writing a checked answer…",
        "de": "Eine geprüfte Antwort wird geschrieben…",
        "es": "Redactando una respuesta verificada…",
        "fr": "Rédaction d'une réponse vérifiée…",
        "ja": "確認済みの回答を作成しています…",
    },
    "rule_version": {
        "en": "version {version}",
        "de": "Version {version}",
        "es": "versión {version}",
        "fr": "version {version}",
        "ja": "バージョン {version}",
    },
    "rule_effective": {
        "en": "effective {date}",
        "de": "gültig ab {date}",
        "es": "vigente desde {date}",
        "fr": "en vigueur depuis le {date}",
        "ja": "{date} 発効",
    },
    "according": {
        "en": "According to {label}: ",
        "de": "Laut {label}: ",
        "es": "Según {label}: ",
        "fr": "Selon {label} : ",
        "ja": "{label}によると: ",
    },
    "source": {
        "en": "Source",
        "de": "Quelle",
        "es": "Fuente",
        "fr": "Source",
        "ja": "出典",
    },
}


def message(key: str, language: str, **values: object) -> str:
    texts = MESSAGES[key]
    return texts.get(language, texts["en"]).format(**values)
