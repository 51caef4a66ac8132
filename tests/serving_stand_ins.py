"""Stand-ins for TF Serving, which cannot be installed here (no binary on PyPI or Debian).

What TF Serving's C++ model server does with a SavedModel is reproduced with the same loader:
`SessionModel` loads a version with TensorFlow's session-based loader
(`tf.compat.v1.saved_model.loader.load`: restore the variables by name, then run a signature's
tensors in a session), as TF Serving and `saved_model_cli run` do. A model that only
`tf.saved_model.load` can run fails here just as it fails in TF Serving.

`PredictionService` answers TF Serving's gRPC API (`tensorflow_serving.apis`, the protos TF
Serving itself is built from) with a SessionModel; only the network server is faked.
"""

import os
from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc


class SessionModel:
    """A SavedModel version loaded the way TF Serving loads it."""

    def __init__(self, version_dir: str):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ['serve'],
                                                              version_dir)
        self.signatures = dict(meta_graph.signature_def)

    def run(self, signature: str, inputs: dict) -> dict:
        """Feeds numpy inputs to a signature by input name; returns its outputs by name."""
        signature_def = self.signatures[signature]
        feeds = {signature_def.inputs[name].name: value for name, value in inputs.items()}
        fetches = {name: info.name for name, info in signature_def.outputs.items()}
        return self.session.run(fetches, feeds)

    def close(self):
        self.session.close()


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """TF Serving's PredictionService.Predict for one model name (its highest version)."""

    def __init__(self, model_base_path: str, model_name: str):
        versions = sorted(int(name) for name in os.listdir(model_base_path) if name.isdigit())
        self.model_name, self.version = model_name, versions[-1]
        self.model = SessionModel(os.path.join(model_base_path, str(self.version)))

    def Predict(self, request, context):  # noqa: N802 (gRPC's naming)
        if request.model_spec.name != self.model_name:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f'Servable not found for request: Latest({request.model_spec.name})')
        signature = request.model_spec.signature_name or 'serving_default'
        if signature not in self.model.signatures:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f'Serving signature name: "{signature}" not found in signature def')
        inputs = {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}
        try:
            outputs = self.model.run(signature, inputs)
        except tf.errors.InvalidArgumentError as error:
            # The C++ status TF Serving returns, without the prefix Python's session adds.
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          error.message.removeprefix('Graph execution error:').strip())
        response = predict_pb2.PredictResponse()
        response.model_spec.name = self.model_name
        response.model_spec.version.value = self.version
        response.model_spec.signature_name = signature
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(tf.make_tensor_proto(np.asarray(value)))
        return response


def start_grpc_server(model_base_path: str, model_name: str):
    """(server, port): a PredictionService on 127.0.0.1, a free port."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=[
        ('grpc.max_receive_message_length', -1), ('grpc.max_send_message_length', -1)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(model_base_path, model_name), server)
    port = server.add_insecure_port('127.0.0.1:0')
    server.start()
    return server, port
