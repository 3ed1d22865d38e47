"""Fakes for the boundaries tests cannot reach, each speaking the real protocol on loopback.

- :mod:`tests.fakes.openai_server`: an OpenAI-compatible chat-completions server
  (``FakeOpenAIServer`` and the ``fake_openai`` fixture).
"""
