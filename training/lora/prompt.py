"""Training records in the model format: TRL's prompt-completion examples and stored chat records.

The prompt itself (system prompt with the class list, ``Events: <trace>``, the answer format) is
classifier/prompting.py, shared with every inference backend; its names are re-exported here.
"""

from classifier.prompting import SYSTEM_PROMPT, answer_text, chat_prompts, prompt_messages, supports_system_role, user_message

__all__ = [
    "SYSTEM_PROMPT",
    "answer_text",
    "chat_prompts",
    "chat_record",
    "prompt_completion",
    "prompt_messages",
    "supports_system_role",
    "user_message",
]


def prompt_completion(record: dict, *, system_role: bool = True) -> dict:
    """A stored chat record as TRL's conversational prompt-completion example: the loss is on the completion only,
    which works with any base model's chat template (no {% generation %} markers needed)."""
    *prompt, answer = record["messages"]
    if not system_role and prompt and prompt[0]["role"] == "system":
        system, user = prompt[0], prompt[1]
        prompt = [{"role": "user", "content": f"{system['content']}\n\n{user['content']}"}]
    return {"prompt": prompt, "completion": [answer]}


def chat_record(trace_text: str, code: int, reason: str, confidence: float) -> dict:
    """One SFT example in the conversational format TRL reads (``messages``)."""
    return {"messages": [*prompt_messages(trace_text), {"role": "assistant", "content": answer_text(code, reason, confidence)}]}
