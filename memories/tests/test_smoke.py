def test_add_then_search_finds_it_by_meaning(api_client):
    api_client.post(
        "/memories",
        {"messages": [{"role": "user", "content": "Loves spicy Thai curry"}], "user_id": "alice", "infer": False},
        format="json",
    )
    response = api_client.post("/search", {"query": "what food does she like", "user_id": "alice"}, format="json")
    assert response.status_code == 200
    assert response.json()["results"][0]["memory"] == "Loves spicy Thai curry"
