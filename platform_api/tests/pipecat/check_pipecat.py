"""Run by platform_api/tests/test_pipecat.py in the Pipecat venv (`make pipecat`): Pipecat's own Mem0 memory service
(`Mem0MemoryService(api_key=..., host=...)`, as Pipecat documents it for a self-hosted Mem0 server) in a Pipecat
pipeline run by Pipecat's runner, against the server in MEM0_HOST with MEM0_API_KEY. Prints one JSON line.

The pipeline is a voice bot's without the audio: the user's context aggregator, the memory service, the LLM, the
assistant's context aggregator. The LLM is a stand-in that records the context it is handed (with the memories the
service put there) and streams a reply as an LLM service does; each user turn enters as an LLMMessagesAppendFrame
that runs the LLM, as a transcription ends a turn. Before each turn the service searches the user's words and puts
what it finds in the context; then it sends the conversation so far to the server (an add, in the background).
After each turn this waits, at most <seconds>, until the server has done the add (asked through its events API).

`check_pipecat.py remember <seconds>`: a conversation of two turns, then a new one (an empty context) asking back.
`check_pipecat.py long <seconds>`: a conversation already 50 exchanges long (its context handed back to the
pipeline, as an app that keeps its conversations does) gets one more turn; then a new one asks back.
`check_pipecat.py tools <seconds>`: the bot's LLM answers the first turn by calling a function (the frames an LLM
service pushes for one: started, in progress, result), which Pipecat's assistant aggregator writes into the context
as an assistant message with `tool_calls` and no content; then a turn to remember, and a new conversation asks back.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time

from pipecat.frames.frames import (
    EndFrame,
    FunctionCallFromLLM,
    FunctionCallInProgressFrame,
    FunctionCallResultFrame,
    FunctionCallsStartedFrame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMTextFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import LLMContextAggregatorPair
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.mem0.memory import Mem0MemoryService
from pipecat.workers.runner import WorkerRunner

SYSTEM = {"role": "system", "content": "You are a friendly voice assistant."}


class StandInLLM(FrameProcessor):
    """Where the LLM service sits: records each context it is asked to answer, then streams a reply as an LLM service
    does (start, text, end), which the assistant aggregator adds to the context."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[list[dict]] = []
        self.answered = asyncio.Event()

    async def process_frame(self, frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, LLMContextFrame):
            await self.push_frame(frame, direction)
            return
        self.contexts.append([dict(m) for m in frame.context.get_messages()])
        if "weather" in str(frame.context.get_messages()[-1].get("content")):
            await self.call_a_function(frame.context)
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(f"Noted, reply {len(self.contexts)}."))
        await self.push_frame(LLMFullResponseEndFrame())
        self.answered.set()

    async def call_a_function(self, context: LLMContext) -> None:
        """The frames an LLM service and its function pipeline push for one call to a weather function."""
        call = {"function_name": "get_weather", "tool_call_id": "call-1", "arguments": {"city": "Lisbon"}}
        await self.push_frame(FunctionCallsStartedFrame([FunctionCallFromLLM(**call, context=context)]))
        await self.push_frame(FunctionCallInProgressFrame(**call))
        await self.push_frame(FunctionCallResultFrame(**call, result={"sky": "sunny", "celsius": 24}, run_llm=False))


ADDS: list[str] = []  # the turns so far, each of which the service sent an add for


async def adds_done(memory: Mem0MemoryService, adds: int) -> bool:
    """Whether the server has finished `adds` adds of this account (its events: none pending or running), asked with
    the service's own client and key."""
    answer = await asyncio.to_thread(memory.memory_client.client.get, "/v1/events/", params={"page_size": 100})
    events = answer.json()
    return events["count"] >= adds and all(e["status"] in ("SUCCEEDED", "FAILED") for e in events["results"])


async def conversation(turns: list[str], wait_seconds: float, history: tuple[dict, ...] = ()) -> dict:
    memory = Mem0MemoryService(
        api_key=os.environ["MEM0_API_KEY"], host=os.environ["MEM0_HOST"], user_id="alice", agent_id="voice-bot"
    )
    context = LLMContext([SYSTEM, *history])
    aggregators = LLMContextAggregatorPair(context)
    llm = StandInLLM()
    worker = PipelineWorker(Pipeline([aggregators.user(), memory, llm, aggregators.assistant()]))
    runner = asyncio.create_task(WorkerRunner(handle_sigint=False).run(worker))
    stored: list[list[str]] = []
    for turn in turns:
        llm.answered.clear()
        await worker.queue_frame(LLMMessagesAppendFrame([{"role": "user", "content": turn}], run_llm=True))
        await asyncio.wait_for(llm.answered.wait(), wait_seconds)
        # The service sent the conversation so far in one add, queued: wait until the server has done it.
        ADDS.append(turn)
        deadline = time.monotonic() + wait_seconds
        while not await adds_done(memory, len(ADDS)) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stored.append(sorted(m["memory"] for m in await memory.get_memories()))
    await worker.queue_frame(EndFrame())
    await asyncio.wait_for(runner, wait_seconds)
    return {"contexts": llm.contexts, "stored": stored}


EARLIER = tuple(
    {"role": role, "content": f"{'Question' if role == 'user' else 'Answer'} number {i} about the weather"}
    for i in range(50)
    for role in ("user", "assistant")
)


async def main(part: str, wait_seconds: float) -> dict:
    if part == "remember":
        first = await conversation(["I moved to Lisbon last spring", "I play the cello in a quartet"], wait_seconds)
        second = await conversation(["Where do I live now?"], wait_seconds)
    elif part == "tools":
        first = await conversation(
            ["What is the weather in Lisbon today?", "I moved to Lisbon last spring"], wait_seconds
        )
        second = await conversation(["Where do I live now?"], wait_seconds)
    elif part == "file":
        # A file in the context, as Pipecat's own helper makes it (a file_base64 part), and the turn after it.
        notes = base64.b64encode(b"Garden notes\n\nThe tomatoes go in the south bed.").decode()
        shared = await LLMContext.create_file_message(
            type="base64",
            format="text/plain",
            file=f"data:text/plain;base64,{notes}",
            name="garden.txt",
            text="My notes",
        )
        first = await conversation(["Where do the tomatoes go?"], wait_seconds, history=(shared,))
        second = await conversation(["What did I plant in the south bed?"], wait_seconds)
    else:
        first = await conversation(["My sister Ana visits every August"], wait_seconds, history=EARLIER)
        second = await conversation(["When does Ana come to visit?"], wait_seconds)
    return {"first": first, "second": second}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], float(sys.argv[2])))))
