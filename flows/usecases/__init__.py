"""The flow templates, one module each; a flow is listed here to exist."""

from flows.base import Flow

ALL_FLOWS: list[Flow] = []
