"""Vectorised ensemble engine: N runs of a Vensim (or Stella/XMILE) model in one PySD integration.

Vensim ``.mdl`` files are parsed by PySD's Vensim translator, Stella/iThink ``.xmile``/
``.stmx`` files by its XMILE translator (:func:`.constructs._parse_model`, a branch on
the suffix); both give PySD's abstract model, which everything below walks.  A model
plain PySD cannot step (stocks its ``Macro.state`` cannot pack) is refused by name.

The runs travel through PySD as 1-D numpy arrays of shape ``(N,)``: every varied
model constant is set to such an array and PySD's own expressions, stateful objects,
``Model.run`` and Euler loop carry the arrays from INITIAL TIME on (numpy
broadcasting covers every unsubscripted operation; a scalar that does not depend
on a parameter, e.g. ``Time``, simply stays a scalar).  Arrays are wrapped in
xarray only when the result is assembled.  PySD 3.14.3 needs these adjustments,
all made here, none in the model:

1. Translation (:func:`translate`).  PySD's builder writes ``float(...)``
   around numpy calls and single subscript elements (``python_expressions_builder.py``
   ~699, ~1945); on the built file's syntax tree these become ``_as_real(...)``
   (``float`` per run, so a numpy integer from ``np.abs``/``np.maximum`` never
   reaches ``^``) and every ``**`` a call to :func:`~.functions._power` (C ``pow``
   per run, as Python's ``**``; numpy's SIMD ``power`` may differ in the last bit),
   so ``-2^2`` stays ``-(2^2)``.  Files are cached by sha256 of the model, its
   folder, the PySD version and :data:`ENGINE_TAG`.
2. Parameters.  ``Model.set_components`` refuses numpy arrays (it takes them for
   subscripted values), so :meth:`VectorModel._set_constants` does what it does
   for a constant value (``lambda: value``, dependencies emptied, cache entry
   dropped) with the run arrays.  Constants not given keep PySD's own default
   value (a Python int keeps Python's exact integer arithmetic).  A constant
   feeding INITIAL/FINAL TIME, TIME STEP or SAVEPER must be one value for the
   ensemble (PySD has one clock).  A control value that changes during the run
   (through Time or a stock) is evaluated by PySD's clock as in a single run; it
   must be one value across runs wherever it is evaluated (else
   :class:`EngineError` names it), and the default years are then the steps PySD
   saves (given years must be steps PySD's clock takes).
3. Functions.  PySD's ``if_then_else``, ``xidz``, ``zidz``, ``integer``,
   ``quantum``, ``modulo`` and ``pulse`` take ``if value:`` branches (one truth
   value) for anything that is not a DataArray; the loaded model's module gets
   versions that, for numpy arrays, do what PySD's DataArray branches do
   (``np.where`` for ``xr.where``) and call PySD's own otherwise.  Hard-coded
   lookups silently return their whole table for array arguments; they get an
   array version doing PySD's scalar branches run by run.  ``INTEGER`` holds its
   integers as float64 (int64 would wrap where Python's ints do not) and raises
   :class:`DomainError` where PySD raises (a non-finite argument).
4. Stateful objects.  SMOOTH/DELAY/TREND/SAMPLE IF TRUE... fix their state's
   shape from the initial value, so every initial value and input is broadcast
   to ``(N,)`` (their states become ``(order, N)`` arrays, PySD's scalar layout
   with runs appended); orders must be one value; DELAY order casting must agree
   across runs.  TREND, FORECAST and SAMPLE IF TRUE call ``zidz``/
   ``if_then_else`` from PySD's ``statefuls`` module and get subclasses calling
   the array versions.
5. Output.  ``Model.run`` flattens into a pandas DataFrame; an output handler
   registered at PySD's ``ModelOutput.out_handlers`` extension point writes each
   saved value straight into one time-major ``(years, outputs, N)`` buffer per call
   instead (one contiguous write per output and saved year), each output handed out
   as an ``(N, years)`` view of it (no copy).  PySD's per-call set-up (call counts
   over the dependency graph, case-insensitive name scans) is done once per model
   (:mod:`.overhead`), with PySD's answers.
6. Euler step.  ``Macro.state`` packs the states with ``np.array(dtype=object)``,
   which numpy turns into a 2-D object array for run-shaped states; the step is
   the same ``state + ddt * dt`` over a list (see :func:`_euler_step`).  Per step
   (:mod:`.stepping`), with the same numpy calls in the same order: from its third
   step a stock's new state is written into the array of its state two steps before
   (double buffering; models with DELAY FIXED or macros keep the allocating step),
   PySD's step cache answers without a ``KeyError`` per first call, constants come
   from a closure, SMOOTH rolls its state by slicing, the clock's return-time test is
   plain float arithmetic.  The constant parts of the step equations (numbers,
   run-cached elements, INITIAL values and pure operations) are evaluated once per
   run, and MAX/MIN of a number against a filled array (:mod:`.hoist`: the checked
   translation rewritten with ``ast``, checked again, same operations on the same
   values); the equations every step evaluates fill the step cache first, from one
   generated function (:mod:`.prefill`).

7. Subscripts.  In a model with subscripts a bare ``(N,)`` array would meet
   PySD's DataArrays by position, so there the runs are a named ``run``
   dimension, kept last (PySD's ``.loc[...]`` and ``.values`` are positional over
   the subscripts): given values are DataArrays, every component returns ``run``
   last, ``xr.DataArray(value, coords, dims)`` of the built file spreads a value
   over runs (:func:`~.runs._run_data_array`), a variable defined element by
   element or with EXCEPT (PySD's ``value.loc[...] =`` and ``value.values[mask] =``)
   takes ``run`` from its first element over runs (:func:`~.runs._assign_loc`,
   :func:`~.runs._assign_mask`; masks cover subscripts only), and functions dispatch on what
   PySD's single run holds: a value over runs only is a scalar there (the array
   versions above), a subscripted one a DataArray (PySD's own function).
8. Macros.  Each macro's module and stateful objects get the same treatment; the
   Euler step goes into macros in PySD's order.  External data (GET DIRECT/XLS)
   is read once at load from the model's folder, as PySD does.
9. Vector functions (:mod:`.vectors`).  VECTOR SORT ORDER/RANK/REORDER and INVERT
   MATRIX work on the last dimensions of their argument: the runs are moved first,
   PySD's numpy call (argsort, take, ``np.linalg.inv``) is made once over the stack
   (numpy treats every lane or matrix of a stack as it treats one array) and the
   runs put back last.  VECTOR SELECT reduces with each run's block laid out as
   PySD's array (C order); its actions must be one value per ensemble.  ALLOCATE
   AVAILABLE and ALLOCATE BY PRIORITY call PySD's own function once per run: exact
   by construction, at the cost of a Python loop over the runs at every evaluation.
   Where PySD raises for a run (e.g. a negative request) the engine raises
   :class:`DomainError` naming the construct and the run.  GAME is PySD's identity.
10. RANDOM functions (:mod:`.draws`).  Plain PySD draws from numpy's global legacy
   stream (``np.random``; scipy's ``truncnorm``/``truncexpon`` use it too).  Each
   run ``i`` of an ensemble seeded ``seed`` (``VectorModel.run(..., seed=)``,
   default :data:`~.draws.DEFAULT_SEED`; ``plansim engine-check --random-seed``)
   draws from its own ``np.random.RandomState([seed, i])``, PySD's call made once per
   run with that run's arguments: the bits plain PySD gives after
   ``np.random.seed([seed, i])`` (computing the same outputs), reproducible and
   independent of N.  An ensemble run in blocks gives each run's index in the whole
   ensemble (``run(..., run_keys=)``; plan projects: the run's future, see
   ``simulator.running.ensemble.noise_keys``, and the command's ``--seed``), so a run's
   noise does not depend on the block size, the number of workers or the lever setting
   its future is run under (common random numbers).  Cost: a Python call per run at every draw.  A draw inside an
   IF THEN ELSE branch that only some runs take is refused by name.

Modules, in the order of the stages: :mod:`.constructs` (what a model uses,
refusals), :mod:`.translate` (PySD's builder, the built file rewritten, cache),
:mod:`.runs` (values over runs, numpy or named), :mod:`.functions` (PySD's
functions over run arrays), :mod:`.lookups`, :mod:`.statefuls`
(stateful objects, Euler step), :mod:`.output`, :mod:`.control` (names, time
grid), :mod:`.vectors`, :mod:`.draws`, :mod:`.overhead` (PySD's per-call set-up,
once), :mod:`.hoist` (constant parts of step equations, once a run), :mod:`.prefill` (the
step cache filled first), :mod:`.parameters` (the values an ensemble is given), :mod:`.vector_model`
(:class:`VectorModel`), :mod:`.reference` (plain PySD, one run) and
:mod:`.conformance` (the two compared, run by run).

Anything outside :data:`SUPPORTED_FUNCTIONS` (RANDOM functions PySD does not
implement, data variables without GET, ...) is refused with :class:`UnsupportedConstruct`, checked on the parsed model and
again on the translated Python; so is an equation that raises over run arrays
(named after its variable).  ``benchmarks/engine_suite.md`` is the table of the
SDXorg test models accepted and refused.  On this machine results are
bit-identical to plain PySD.
"""

from .constructs import used_constructs
from .errors import (
    SUPPORTED_FUNCTIONS,
    DomainError,
    EngineError,
    NonFiniteError,
    UnknownNameError,
    UnsupportedConstruct,
)
from .reference import reference_values, run_single
from .translate import ENGINE_TAG, model_hash, translate, translate_reference
from .vector_model import VectorModel

__all__ = [
    "ENGINE_TAG",
    "SUPPORTED_FUNCTIONS",
    "DomainError",
    "EngineError",
    "NonFiniteError",
    "UnknownNameError",
    "UnsupportedConstruct",
    "VectorModel",
    "model_hash",
    "reference_values",
    "run_single",
    "translate",
    "translate_reference",
    "used_constructs",
]
