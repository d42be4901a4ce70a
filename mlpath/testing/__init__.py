"""Local fakes of the services outside this machine (Slack's Web API), for the tests and the benchmarks.

They ship with the shell, like langchain_core ships fake chat models, so bench/ never imports test code."""
