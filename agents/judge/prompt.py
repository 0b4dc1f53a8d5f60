"""The Detector's prompt: its template, its agent-call role, and the principles rendered once."""

from __future__ import annotations

from kindling.agents.templates import PromptLibrary, RenderedPrompt

ROLE = "detect"
TEMPLATE = "judge/detect"
_QUERY, _RESPONSE = "\x00kindling-query\x00", "\x00kindling-response\x00"


class DetectPrompt:
    """The Detector prompt with the principles rendered once; per item only the texts are filled in.

    The template is rendered with placeholder texts and split around them, so an item costs two
    string joins instead of a Jinja render (the same text `PromptLibrary.render` gives).
    """

    def __init__(self, prompts: PromptLibrary, rules: list[str], template: str = TEMPLATE) -> None:
        self.prompts, self.rules, self.name = prompts, rules, template
        shell = prompts.render(template, principles=rules, query=_QUERY, response=_RESPONSE)
        self.template, self.template_hash = shell.template, shell.template_hash
        text = shell.text
        simple = (text.count(_QUERY) == 1 and text.count(_RESPONSE) == 1
                  and text.index(_QUERY) < text.index(_RESPONSE))
        head, _, rest = text.partition(_QUERY)
        middle, _, tail = rest.partition(_RESPONSE)
        self._parts = (head, middle, tail) if simple else None

    def render(self, query: str, response: str) -> RenderedPrompt:
        """The prompt for one (query, response)."""
        if self._parts is None:  # a template that uses a text twice or after the other
            return self.prompts.render(self.name, principles=self.rules, query=query,
                                       response=response)
        head, middle, tail = self._parts
        return RenderedPrompt(self.template, self.template_hash,
                              f"{head}{query}{middle}{response}{tail}")
