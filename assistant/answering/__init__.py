"""The answer path as small named steps, each with typed inputs and outputs.

``condense`` (follow-ups, dates) → ``retrieve`` (the knowledge base) → ``evidence`` (sentences and
table rows ranked for the question, within a budget) → ``read`` (the reader model answers from
numbered passages, citing them, or says the passages do not answer) → ``verify`` (each sentence's
figures, codes and level/region names lie inside the passages it cites, and those passages name
what the question asks about) → ``extract`` (the fallback without a model).
:class:`assistant.service.AssistantService` runs them and is the only place that saves.
"""
