"""maskops edge agent: runs the mask detector on camera boxes, keeps informative frames, ships them.

Torch-free on purpose (numpy, OpenCV, ONNX Runtime, boto3, pydantic). Importing this package
loads nothing heavy; ``maskops-edge`` (``edge_agent.cli``) is the entry point.
"""
