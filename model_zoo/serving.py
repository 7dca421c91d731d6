"""Serves checkpoints over HTTP with TensorFlow Serving's REST API: `model-zoo serve NAME ...`.

    POST /v1/models/<name>:predict        {"instances": [...]} -> {"predictions": [...]}
    GET  /v1/models/<name>                the model's status, in TF Serving's form
    GET  /v1/models/<name>/metadata       the checkpoint's metadata, and what an instance and a
                                          prediction are for its task

(each also as `/v1/models/<name>/versions/<version>...`). `<name>` is the checkpoint as named
on the command line (`forecast_lstm_airline`, `forecast_lstm_airline@1`), or for a folder or
URL the name in its metadata. The task class turns JSON instances into a call of its verb and
its results into JSON predictions (`Task.serve_instances`, `Task.serving_signature`).

Requests for one model that arrive while it is busy are gathered, up to `max_batch` instances
and for at most `batch_wait_ms` after the first, and run as one call of the verb in a worker
thread, so the event loop keeps answering; each request gets its own slice of the results. One
call runs at a time per model. Bad requests get TF Serving's JSON error form `{"error": "..."}`
with a 4xx code (400, 404 for an unknown model or path, 413 for a body over `max_body_mb`), a
failure inside a model 500; the server keeps running.

Built on aiohttp, an optional dependency (`pip install 'model-zoo[serve]'`), imported only here.
"""

import asyncio
import collections
import concurrent.futures
import functools
import json
import os
import signal
import sys
import threading
import traceback

from model_zoo import limits
from model_zoo.errors import InputError, ModelZooError
from model_zoo.tasks.cli_arguments import SERVE_DEFAULTS as DEFAULTS

try:
    from aiohttp import web
except ImportError:  # The `serve` extra is not installed: `Server` says how to install it.
    web = None

#: Seconds a stopping server waits for the requests in flight before it cancels them.
SHUTDOWN_SECONDS = 5.0


def require_aiohttp():
    """Raises a `ModelZooError` naming the extra to install when aiohttp is missing."""
    if web is None:
        raise ModelZooError("Serving needs aiohttp, which is not installed: pip install "
                            "'model-zoo[serve]'. Received: no module named 'aiohttp'")


def check_settings(port=DEFAULTS["port"], max_batch=DEFAULTS["max_batch"],
                   batch_wait_ms=DEFAULTS["batch_wait_ms"], max_body_mb=DEFAULTS["max_body_mb"],
                   max_instances=DEFAULTS["max_instances"], max_seconds=None):
    """The server's settings, checked (an InputError for a bad one), as a dict."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"`port` must be an integer from 0 (a free one) to 65535. "
                         f"Received: port={port!r}")
    if limits.finite_number(batch_wait_ms, "batch_wait_ms") < 0:
        raise InputError(f"`batch_wait_ms` must be >= 0. Received: batch_wait_ms={batch_wait_ms}")
    for name, value in (("max_body_mb", max_body_mb), ("max_seconds", max_seconds)):
        if (value is not None or name != "max_seconds") and limits.finite_number(value, name) <= 0:
            raise InputError(f"`{name}` must be a number > 0. Received: {name}={value!r}")
    return {"port": port, "max_batch": limits.positive_int(max_batch, "max_batch"),
            "batch_wait_ms": float(batch_wait_ms), "max_body_mb": float(max_body_mb),
            "max_instances": limits.positive_int(max_instances, "max_instances"),
            "max_seconds": None if max_seconds is None else float(max_seconds)}


class HTTPError(ModelZooError):
    """A request the server refuses, with its HTTP status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _settle(future, result=None, error=None):
    if not future.done():  # Done: its client went away and the handler was cancelled.
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class ServedModel:
    """One served checkpoint: its task, the requests waiting for it, and the coroutine that
    runs them in batches (`start`), one call of `task.serve_instances` at a time.

    Args:
        name: the name it is served under.
        task: the loaded task object.
        max_batch: most instances gathered into one call (a larger request runs alone).
        batch_wait_ms: how long the first request of a batch waits for others.

    Attributes:
        calls, requests, instances: counts of model calls made and of requests and instances
            answered with predictions.
    """

    def __init__(self, name, task, max_batch, batch_wait_ms):
        self.name, self.task = name, task
        self.max_batch, self.wait = max_batch, batch_wait_ms / 1000.0
        self.version = str(task.metadata.version) if task.metadata else "1"
        self.signature = task.serving_description()  # The error of a task not servable yet.
        self.pending = collections.deque()
        self.arrived = None  # An asyncio.Event of the serving loop, made by `start`.
        self.calls = self.requests = self.instances = 0

    async def predict(self, instances):
        """The predictions of one request's instances (gathered with others' into a call)."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((instances, future))
        self.arrived.set()
        return await future

    def start(self, executor):
        """Starts running the waiting requests in batches, model calls in `executor`, until
        the returned task is cancelled."""
        self.arrived = asyncio.Event()
        return asyncio.create_task(self._run(executor), name=f"serve {self.name}")

    async def _run(self, executor):
        while True:
            while not self.pending:
                self.arrived.clear()
                await self.arrived.wait()
            batch = await self._gather()
            try:
                await self._call(batch, executor)
            except Exception as error:  # A bug here must not leave the requests waiting.
                for _, future in batch:
                    _settle(future, error=error)

    async def _gather(self):
        """The next batch: the requests waiting now, then those arriving within the wait,
        up to `max_batch` instances (the first request is taken whatever its size)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        batch, size = [], 0
        while True:
            while self.pending and (not batch or size + len(self.pending[0][0])
                                    <= self.max_batch):
                instances, future = self.pending.popleft()
                if not future.done():
                    batch.append((instances, future))
                    size += len(instances)
            remaining = deadline - loop.time()
            if self.pending or size >= self.max_batch or remaining <= 0:
                return batch
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                return batch

    async def _call(self, batch, executor):
        if not batch:  # Every client of the batch went away.
            return
        loop = asyncio.get_running_loop()
        instances = [x for request, _ in batch for x in request]
        self.calls += 1
        try:
            predictions = await loop.run_in_executor(executor, self._predict, instances)
        except Exception as error:
            if len(batch) > 1:  # One request's bad instance: each on its own, so only it fails.
                for item in batch:
                    await self._call([item], executor)
                return
            _settle(batch[0][1], error=error)
            return
        start = 0
        for request, future in batch:
            _settle(future, predictions[start:start + len(request)])
            start += len(request)
        self.requests += len(batch)
        self.instances += len(instances)

    def _predict(self, instances):
        predictions = self.task.serve_instances(instances)
        if len(predictions) != len(instances):
            raise RuntimeError(f"{type(self.task).__name__}.serve_instances returned "
                               f"{len(predictions)} predictions for {len(instances)} instances")
        return predictions

    def status(self):
        return {"model_version_status": [{"version": self.version, "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}

    def metadata(self, settings):
        checkpoint = self.task.metadata.to_dict() if self.task.metadata else {}
        return {"model_spec": {"name": self.name, "signature_name": "serving_default",
                               "version": self.version},
                "metadata": {"checkpoint": checkpoint,
                             "serving": {"task": self.task.task_name, **self.signature,
                                         "max_instances": settings["max_instances"],
                                         "max_batch": self.max_batch}}}


def _to_json(obj):
    """What `json.dumps` cannot write itself: NumPy values, as Python ones."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


_dumps = functools.partial(json.dumps, default=_to_json, ensure_ascii=False, allow_nan=False)


def _reply(payload, status=200):
    return web.json_response(payload, status=status, dumps=_dumps)


def _error(status, message):
    return _reply({"error": message}, status)


class Server:
    """A TensorFlow Serving-compatible REST server of loaded task objects.

    Args:
        models: `{name: task}`, the task objects to serve under those names.
        max_batch: most instances run in one call of a model (requests gathered while it is
            busy); 1 turns batching off.
        batch_wait_ms: how long the first request of a batch waits for more (0: only those
            already waiting).
        max_body_mb: largest request body, in megabytes (413 past it).
        max_instances: most instances in one request (400 past it).

    Example:
    >>> server = Server({"airline": model_zoo.load("forecast_lstm_airline")})  # doctest: +SKIP
    >>> asyncio.run(server.serve(port=8501, max_seconds=60))  # doctest: +SKIP
    """

    def __init__(self, models, max_batch=DEFAULTS["max_batch"],
                 batch_wait_ms=DEFAULTS["batch_wait_ms"], max_body_mb=DEFAULTS["max_body_mb"],
                 max_instances=DEFAULTS["max_instances"]):
        require_aiohttp()
        if not models:
            raise InputError("Give at least one model to serve. Received: none")
        self.settings = check_settings(max_batch=max_batch, batch_wait_ms=batch_wait_ms,
                                       max_body_mb=max_body_mb, max_instances=max_instances)
        self.models = {name: ServedModel(name, task, self.settings["max_batch"],
                                         self.settings["batch_wait_ms"])
                       for name, task in models.items()}
        self.url = None
        self._stop = self._loop = self._executor = None
        self._workers = []

    # -- the application -----------------------------------------------------------------------

    def app(self):
        """The aiohttp application (its routes, the JSON errors, the model workers)."""
        @web.middleware
        async def errors(request, handler):
            return await self._errors(request, handler)

        app = web.Application(client_max_size=int(self.settings["max_body_mb"] * 2 ** 20),
                              middlewares=[errors])
        name, version = "/v1/models/{name:[^/:]+}", "/versions/{version:[^/:]+}"
        for prefix in (name, name + version):
            app.router.add_get(prefix, self._status)
            app.router.add_get(prefix + "/metadata", self._metadata)
            app.router.add_post(prefix + ":predict", self._predict)
        app.on_startup.append(self._start_workers)
        app.on_cleanup.append(self._stop_workers)
        return app

    async def _start_workers(self, app):
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=len(self.models), thread_name_prefix="model-zoo-serve")
        self._workers = [model.start(self._executor) for model in self.models.values()]

    async def _stop_workers(self, app):
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _errors(self, request, handler):
        """Every failure as TF Serving's `{"error": "..."}`, never a traceback to the client."""
        try:
            return await handler(request)
        except HTTPError as e:
            return _error(e.status, str(e))
        except InputError as e:
            return _error(400, str(e))
        except web.HTTPRequestEntityTooLarge:
            size = request.content_length
            return _error(413, f"The request body is larger than this server takes "
                               f"({self.settings['max_body_mb']:g} MB: `model-zoo serve "
                               f"--max-body-mb`). Received: "
                               f"{'more' if size is None else f'{size:,} bytes'}")
        except web.HTTPException as e:  # aiohttp's own: an unknown path, a wrong method.
            if e.status < 400:
                raise
            return _error(e.status, f"{e.reason}: the paths are /v1/models/<name>[/versions/"
                                    f"<version>] (GET), .../metadata (GET) and ...:predict "
                                    f"(POST). Received: {request.method} {request.path}")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # A failure inside a model: the server keeps running.
            traceback.print_exc(file=sys.stderr)
            return _error(500, f"The model failed on this request: {type(e).__name__}: {e}")

    def _model(self, request):
        name = request.match_info["name"]
        model = self.models.get(name)
        if model is None:
            raise HTTPError(404, f"Servable not found for request: no model {name!r} is served "
                                 f"here; served: {sorted(self.models)}. Received: {name!r}")
        version = request.match_info.get("version")
        if version is not None and version != model.version:
            raise HTTPError(404, f"Servable not found for request: {name} is served at version "
                                 f"{model.version} only. Received: version {version!r}")
        return model

    async def _status(self, request):
        return _reply(self._model(request).status())

    async def _metadata(self, request):
        return _reply(self._model(request).metadata(self.settings))

    async def _predict(self, request):
        model = self._model(request)
        body = await request.read()
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise HTTPError(400, f"The request body is not JSON ({e}). Received: "
                                 f"{body[:60]!r}") from None
        instances = self._instances(payload)
        return _reply({"predictions": await model.predict(instances)})

    def _instances(self, payload):
        if not isinstance(payload, dict) or "instances" not in payload:
            shown = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
            hint = (" (the columnar \"inputs\" form is not served: send rows)"
                    if isinstance(payload, dict) and "inputs" in payload else "")
            raise HTTPError(400, f"The request must be a JSON object with \"instances\": a list "
                                 f"of inputs{hint}. Received: {shown}")
        instances = payload["instances"]
        if not isinstance(instances, list) or not instances:
            raise HTTPError(400, f"\"instances\" must be a non-empty list. Received: "
                                 f"{type(instances).__name__}"
                                 f"{' (empty)' if isinstance(instances, list) else ''}")
        most = self.settings["max_instances"]
        if len(instances) > most:
            raise HTTPError(400, f"Too many instances in one request: at most {most:,} "
                                 f"(`model-zoo serve --max-instances`); split the request. "
                                 f"Received: {len(instances):,} instances")
        return instances

    # -- running -------------------------------------------------------------------------------

    async def serve(self, host=DEFAULTS["host"], port=DEFAULTS["port"], max_seconds=None,
                    on_ready=None):
        """Serves until `stop()`, SIGINT/SIGTERM (in the main thread) or `max_seconds`.

        Args:
            host: the address to listen on (default 127.0.0.1: this machine only).
            port: the port; 0 picks a free one (`self.url` says which).
            max_seconds: stop by itself after this long (None: never).
            on_ready: optional `on_ready(url)`, called once the server accepts requests.
        """
        port = check_settings(port=port, max_seconds=max_seconds)["port"]
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.app(), handle_signals=False, access_log=None,
                               shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        signals = []
        try:
            try:
                await web.TCPSite(runner, host, port).start()
            except OSError as e:
                raise InputError(f"Cannot listen on {host}:{port}: {e.strerror or e}. "
                                 f"Received: --host {host} --port {port}") from None
            address = runner.addresses[0]
            shown = f"[{address[0]}]" if ":" in address[0] else address[0]
            self.url = f"http://{shown}:{address[1]}"
            if threading.current_thread() is threading.main_thread():
                for sig in (signal.SIGINT, signal.SIGTERM):
                    self._loop.add_signal_handler(sig, self._stop.set)
                    signals.append(sig)
            if on_ready is not None:
                on_ready(self.url)
            try:
                await asyncio.wait_for(self._stop.wait(), max_seconds)
            except TimeoutError:
                pass
        finally:
            for sig in signals:
                self._loop.remove_signal_handler(sig)
            await runner.cleanup()

    def stop(self):
        """Stops a running `serve` (from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)


class BackgroundServer:
    """A `Server` running in a thread of its own, e.g. for tests: `with` it, or `stop()` it.

    Args:
        models: `{name: task}`.
        host, port: where to listen (port 0: a free one; `url` says which).
        max_seconds: it stops by itself after this long.
        **settings: the other arguments of `Server`.
    """

    def __init__(self, models, host=DEFAULTS["host"], port=0, max_seconds=None, **settings):
        self.server = Server(models, **settings)
        self._ready = threading.Event()
        self._failure = None
        self._thread = threading.Thread(target=self._run, args=(host, port, max_seconds),
                                        name="model-zoo-server", daemon=True)

    def _run(self, host, port, max_seconds):
        try:
            asyncio.run(self.server.serve(host, port, max_seconds,
                                          on_ready=lambda url: self._ready.set()))
        except BaseException as e:  # Reported by `start`.
            self._failure = e
        finally:
            self._ready.set()

    @property
    def url(self):
        return self.server.url

    def start(self, timeout=30.0):
        """Starts the thread; returns once the server accepts requests."""
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"The server did not start within {timeout} s")
        if self._failure is not None:
            raise self._failure
        return self

    def stop(self, timeout=SHUTDOWN_SECONDS + 5):
        """Stops the server and waits at most `timeout` seconds for its thread."""
        self.server.stop()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- the command line ------------------------------------------------------------------------------


def served_name(spec, resolved):
    """The name a checkpoint is served under: as given, or for a folder or URL its metadata's."""
    if os.path.isdir(os.fspath(spec)) or "://" in str(spec):
        return resolved.metadata.name
    return str(spec)


def load_models(specs):
    """`{served name: task}` of the checkpoints `specs`, every one resolved (and its name
    checked) before any is loaded."""
    from model_zoo import api
    from model_zoo.registry import resolve

    names = {}
    for spec in specs:
        name = served_name(spec, resolve(spec))
        if name in names:
            raise InputError(f"Two checkpoints would be served under the name {name!r}. "
                             f"Received: {names[name]!r} and {spec!r}")
        names[name] = spec
    return {name: api.load(spec) for name, spec in names.items()}


def run_cli(args):
    """`model-zoo serve NAME ...` (arguments: `cli_arguments.VERBS`)."""
    settings = check_settings(args.port, args.max_batch, args.batch_wait_ms, args.max_body_mb,
                              args.max_instances, args.max_seconds)
    require_aiohttp()
    models = load_models(args.names)
    server = Server(models, **{k: settings[k] for k in (
        "max_batch", "batch_wait_ms", "max_body_mb", "max_instances")})

    def ready(url):
        for name, model in server.models.items():
            print(f"serving {name} ({model.task.task_name}, version {model.version}): "
                  f"POST {url}/v1/models/{name}:predict")
        print(f"ready: {url} (Ctrl-C stops)", flush=True)

    asyncio.run(server.serve(args.host, settings["port"], settings["max_seconds"], ready))
    for name, model in server.models.items():
        print(f"stopped {name}: {model.requests} requests answered ({model.instances} "
              f"instances) in {model.calls} model calls")
    return 0
