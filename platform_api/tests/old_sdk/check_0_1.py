"""Drives Python mem0ai 0.1.x (run by its own venv's Python, not the suite's: platform_api/tests/test_sdk_old.py)
against MEM0_HOST with MEM0_API_KEY, each method as a user of that version calls it, and prints what the client
handed back as one JSON line. Not a test module: pytest never imports it (the suite's mem0ai is 2.x)."""

import asyncio
import json
import os

from mem0 import AsyncMemoryClient, MemoryClient

HOST, KEY = os.environ["MEM0_HOST"], os.environ["MEM0_API_KEY"]


def texts(memories: list) -> list:
    return sorted(memory["memory"] for memory in memories)


def main() -> dict:
    client = MemoryClient(api_key=KEY, host=HOST)
    # Given the ids, 0.1.x sends them along with every request (query or body).
    client = MemoryClient(api_key=KEY, host=HOST, org_id=client.org_id, project_id=client.project_id)
    report = {"org_id": client.org_id, "project_id": client.project_id}

    chat = [{"role": "user", "content": "I like green tea"}, {"role": "assistant", "content": "Noted."}]
    added = client.add(chat, user_id="alice", infer=False, metadata={"topic": "drinks"})
    report["added"] = [(result["event"], result["memory"]) for result in added["results"]]
    client.add([{"role": "user", "content": "I live in Lisbon"}], user_id="alice", infer=False)
    client.add([{"role": "user", "content": "Agent note"}], agent_id="helper", infer=False)

    listed = client.get_all(user_id="alice")  # GET /v1/memories/: a list
    report["get_all"] = texts(listed)
    report["get_all_page"] = client.get_all(user_id="alice", page=1, page_size=2)["count"]
    report["get_all_v2"] = texts(client.get_all(version="v2", filters={"AND": [{"user_id": "alice"}]}))
    page = client.get_all(version="v2", filters={"AND": [{"user_id": "alice"}]}, page=2, page_size=2)
    report["get_all_v2_page"] = (page["count"], len(page["results"]))

    hits = client.search("green tea", user_id="alice")  # v1: a list
    report["search"] = hits[0]["memory"]
    report["search_score"] = hits[0]["score"] > 0
    report["search_v1_1"] = client.search("green tea", user_id="alice", output_format="v1.1")["results"][0]["memory"]
    report["search_v2"] = client.search("green tea", version="v2", filters={"OR": [{"user_id": "alice"}]})[0]["memory"]

    tea = next(memory for memory in listed if memory["memory"] == "I like green tea")
    report["get"] = (client.get(tea["id"])["memory"], client.get(tea["id"])["metadata"])
    report["update"] = client.update(tea["id"], text="Loves green tea")["memory"]
    report["history"] = [entry["event"] for entry in client.history(tea["id"])]
    report["users"] = sorted((user["type"], user["name"]) for user in client.users()["results"])

    lisbon = next(memory for memory in listed if memory["memory"] == "I live in Lisbon")
    noted = next(memory for memory in listed if memory["memory"] == "Noted.")
    report["batch_update"] = client.batch_update([{"memory_id": lisbon["id"], "text": "Lives in Porto"}])
    report["batch_delete"] = client.batch_delete([{"memory_id": noted["id"]}])
    report["project"] = client.update_project(custom_instructions="Only drinks.")["custom_instructions"]
    report["get_project"] = client.get_project(fields=["custom_instructions"])
    report["delete"] = client.delete(tea["id"])
    report["delete_all"] = client.delete_all(user_id="alice")
    report["delete_users"] = client.delete_users(agent_id="helper")

    async def run_async() -> dict:
        aclient = AsyncMemoryClient(api_key=KEY, host=HOST)
        await aclient.add([{"role": "user", "content": "Async fact"}], user_id="bob", infer=False)
        found = await aclient.search("fact", user_id="bob")
        listed = await aclient.get_all(user_id="bob")
        await aclient.reset()
        return {"search": found[0]["memory"], "get_all": texts(listed), "after_reset": await aclient.users()}

    report["async"] = asyncio.run(run_async())
    return report


if __name__ == "__main__":
    print(json.dumps(main()))
