"""The Cocos wire: .proto sources and their generated Python modules.

Import as ``from proto.agent import agent_pb2, agent_pb2_grpc`` (likewise ``manager`` and
``cvms``). The generated modules are committed; regenerate them with ``python -m proto.generate``.
"""
