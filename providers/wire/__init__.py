"""Async adapters for the LLM providers' streaming chat APIs (one module per wire protocol).

`base` holds the shared types, `transport` the HTTP plumbing, `dispatch` the entry points
(`stream_chat`, `list_models`) that choose an adapter.
"""
