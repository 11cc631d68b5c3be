"""The checks every SD practitioner runs (Sterman ch. 21) on the district model.

Extreme conditions, integration error, stock balance and behaviour reproduction.
"""

import itertools

import numpy as np
import pytest

from simulator import calibrate
from simulator.inputs import history, indicators, model, project, scenario
from simulator.inputs.model import vector_model
from simulator.running import simulate
from simulator.running.provenance import file_hash

KARAMAY = project.find()
MODEL_FILE, CALIBRATION_FILE = KARAMAY.model, KARAMAY.calibration


@pytest.fixture(scope="module")
def plan():
    return scenario.load("plan")


@pytest.fixture(scope="module")
def stocks():
    doc = vector_model(KARAMAY).doc
    names = doc.loc[doc["Subtype"].astype(str).str.lower() == "integ", "Real Name"].tolist()
    assert "working age" in names and "green area" in names
    return names


def _extreme_cases(base: dict) -> dict[str, dict]:
    no_migration = {"job attraction": 0.0, "income attraction": 0.0,
                    "talent attraction rate": 0.0}
    oil_decline = {"oil expansion shift": -0.1, "refinery expansion rate": 0.0}
    # the real oil price times 5 or 0.2 from 2006 on: a collapse of depth -4 or 0.8 that never
    # recovers (shock depth and recovery time outside their sampled ranges on purpose)
    lasting = {"oil price shock year": 2006.0, "oil price recovery time": 1e6}
    return {
        "central": {},
        "no migration": no_migration,
        "oil decline": oil_decline,
        "oil collapse": {"oil price shock year": 2008.0, "oil price shock depth": 0.7,
                         "oil price recovery time": 6.0},
        # the same collapse with registered unemployment following the jobs within one time step
        # (1/8 year, the v3.1 behaviour; shorter is below the Euler step)
        "oil collapse, no lag": {"oil price shock year": 2008.0, "oil price shock depth": 0.7,
                                 "oil price recovery time": 6.0,
                                 "unemployment adjustment time": 0.125},
        "population halved": {"initial population": base["initial population"] / 2},
        "high inflation": {"future general inflation": 0.5},
        "oil price x5": {**lasting, "oil price shock depth": -4.0},
        "oil price x0.2": {**lasting, "oil price shock depth": 0.8},
        "population doubled": {"initial population": base["initial population"] * 2},
        # no oil or private investment from 2006: the oil company neither expands nor replaces
        # decline, no refinery expansion, private investment cut to nothing (the programmes
        # kept small so the budget pays every lever in full); the district's own budget still
        # invests what it has left
        "zero investment": {"oil expansion shift": -1.0, "refinery expansion rate": 0.0,
                            "investment attraction": -1.0, "greening spending share": 0.02,
                            "talent attraction rate": 0.0, "commerce tourism boost": 0.0,
                            "energy saving programme": 0.0, "building energy programme": 0.0,
                            "transport energy programme": 0.0},
        "zero transfers": {"transfer ratio": 0.0},
        # v2's wage spiral corner: full pass-through, strongest substitution and tightness
        "wage spiral corner": {"wage productivity elasticity": 1.0, "labour substitution": 0.8,
                               "wage tightness elasticity": 2.0, "maximum wage tightness": 2.0},
        "everything at once": {**no_migration, **oil_decline, "oil price shock year": 2006.0,
                               "oil price shock depth": 0.7, "future general inflation": 0.5,
                               "initial population": base["initial population"] / 2},
    }


@pytest.fixture(scope="module")
def extremes(plan, stocks):
    base = plan.central_parameters()
    cases = _extreme_cases(base)
    names = list(cases)
    params = {k: np.array([cases[c].get(k, base.get(k)) for c in names], dtype=float)
              for k in set(base) | {k for c in cases.values() for k in c}
              if all(cases[c].get(k, base.get(k)) is not None for c in names)}
    vm = vector_model(KARAMAY)
    extra = ["local industry VA real", "tertiary VA real", "oil jobs", "urban income real",
             "fiscal revenue real", "oil VA real", "net migration rate", "oil investment real",
             "jobs", "housed population", "maximum housing growth", "field capacity ceiling",
             "field capacity", "refinery capacity", "maximum oil utilisation",
             "local wage index", "fiscal expenditure real", "public investment real",
             "private investment real", "capital lifetime", "oilfield decline rate",
             "oil utilisation", "budget scale", "natural growth rate",
             "maximum out migration rate", "crowding tolerance", "unemployment adjustment time",
             "indicated unemployment share", "local employment", "employment",
             "oil jobs held by residents", "greening spending real"]
    variables = indicators.model_variables(KARAMAY.indicators)
    out = vm.run(params, sorted(set(stocks + variables + extra)))
    return names, out  # vm.run raises on NaN/inf, naming the run and the variable


def test_extreme_conditions_keep_stocks_non_negative_and_finite(extremes, stocks):
    names, out = extremes
    for stock in stocks:
        worst = out[stock].min("time")
        bad = [names[i] for i in np.flatnonzero(worst.values < 0)]
        assert not bad, f"stock '{stock}' negative under: {bad}"
    half = names.index("population halved")
    pop = out["population"].sel(time=2000).values
    assert pop[half] == pytest.approx(0.5 * pop[0])
    # the migration-balance loop answers: jobs pull migrants in as fast as housing allows.
    # Housing grows at most `maximum housing growth` a year, and residents grow by natural
    # growth and net migration, so with half the residents (vacancies everywhere) net
    # migration runs at the housing limit less natural growth: within 10% of it, and clearly
    # above the central path's (which the history sets: ~3%/yr at the posterior mode; the
    # earlier bound, twice the central rate, only held while the point put the central rate
    # below half the housing limit; models/README.md, extreme conditions)
    rate = out["net migration rate"].sel(time=2001).values
    room = (out["maximum housing growth"].sel(time=2001).values
            - out["natural growth rate"].sel(time=2001).values / 1000)
    assert rate[half] >= 0.9 * room[half]
    assert rate[half] > rate[0] + 0.01


def test_extreme_conditions_keep_jobs_and_spending_non_negative(extremes):
    """Physical quantities that are not stocks stay >= 0 too (review of v3.3: population x0.5
    in 2000 gave -7,900 residents employed outside the oil company, as the company's posts,
    which do not depend on population, exceeded the employed). Residents hold at most as many
    oil jobs as are employed (the rest are filled from outside the district), so local
    employment is >= 0 in every case and year, and with half the residents it is 0 in 2000
    while residents fill every oil post they can."""
    names, out = extremes
    for var in ("local employment", "employment", "jobs", "oil jobs held by residents",
                "public investment real", "greening spending real"):
        worst = out[var].min("time").values
        bad = [names[i] for i in np.flatnonzero(worst < 0)]
        assert not bad, f"'{var}' negative under: {bad}"
    held = out["oil jobs held by residents"].values
    assert np.all(held <= out["employment"].values * (1 + 1e-12))
    assert np.all(held <= out["oil jobs"].values * (1 + 1e-12))
    assert _case(extremes, "population halved", "local employment", 2000) == 0.0
    assert _case(extremes, "population halved", "oil jobs held by residents", 2000) == \
        pytest.approx(_case(extremes, "population halved", "employment", 2000))
    assert _case(extremes, "central", "oil jobs held by residents", 2000) == \
        _case(extremes, "central", "oil jobs", 2000)


def _case(extremes, name, var, year):
    names, out = extremes
    return float(out[var].sel(time=year).values[names.index(name)])


def test_zero_migration_lowers_local_value_added(extremes):
    for var in ("local industry VA real", "tertiary VA real"):
        assert _case(extremes, "no migration", var, 2010) < 0.97 * _case(
            extremes, "central", var, 2010), var
    assert _case(extremes, "no migration", "job availability", 2010) > 1.05


def test_inflation_leaves_real_outcomes_unchanged(extremes):
    """50%/yr inflation from 2006: every real indicator and population within 1%."""
    real = ["population", "GDP real", "urban income real", "urban consumption real",
            "unemployment rate", "energy intensity", "green ratio", "employment",
            "fiscal revenue real", "net migration", "tertiary VA real", "natural growth rate"]
    for var in real:
        for year in (2010, 2015):
            a = _case(extremes, "high inflation", var, year)
            b = _case(extremes, "central", var, year)
            assert abs(a - b) <= 0.01 * abs(b) + 1e-9, f"{var} {year}: {a} vs {b}"


def test_oil_price_collapse_hits_jobs_incomes_and_revenue(extremes):
    for var in ("oil jobs", "urban income real", "fiscal revenue real", "oil investment real"):
        assert _case(extremes, "oil collapse", var, 2009) < 0.97 * _case(
            extremes, "central", var, 2009), var
    # it is a price shock: real oil output is not cut at once, GDP at current prices is
    assert _case(extremes, "oil collapse", "GDP nominal", 2009) < 0.85 * _case(
        extremes, "central", "GDP nominal", 2009)


def _series(extremes, name, var):
    names, out = extremes
    return out[var].values[names.index(name)], out["time"].values


def test_oil_price_collapse_cuts_real_oil_output_in_its_year(extremes):
    """A 70% collapse at the start of 2008 cuts real oil output in 2008 (the year it happens):
    the company cuts output when the price falls below the one its plan assumed."""
    assert _case(extremes, "oil collapse", "oil VA real", 2008) < 0.9 * _case(
        extremes, "oil collapse", "oil VA real", 2007)
    assert _case(extremes, "oil collapse", "GDP real", 2008) < _case(
        extremes, "oil collapse", "GDP real", 2007)


def test_oil_price_x5_stays_within_the_field_ceiling_and_the_housing_limit(extremes):
    """Oil price x5 from 2006. Bounds: real oil output never above (field ceiling + refinery
    capacity) x the highest utilisation; population in 2015 at most 1.5 x the residents the
    builders can house by then (2005 housed population x exp(10 x maximum housing growth)):
    at most half again as many residents as housing, however strong the pull."""
    oil, _ = _series(extremes, "oil price x5", "oil VA real")
    ceiling, _ = _series(extremes, "oil price x5", "field capacity ceiling")
    refinery, _ = _series(extremes, "oil price x5", "refinery capacity")
    top = _case(extremes, "oil price x5", "maximum oil utilisation", 2015)
    assert np.all(oil <= (ceiling + refinery) * top * (1 + 1e-9))
    housed_2005 = _case(extremes, "oil price x5", "housed population", 2005)
    growth = _case(extremes, "oil price x5", "maximum housing growth", 2015)
    bound = 1.5 * housed_2005 * np.exp(10 * growth)
    pop_2015 = _case(extremes, "oil price x5", "population", 2015)
    assert pop_2015 <= bound, (pop_2015, bound)
    # direction: a boom draws people and raises incomes
    assert pop_2015 > _case(extremes, "central", "population", 2015)
    assert _case(extremes, "oil price x5", "urban income real", 2010) > _case(
        extremes, "central", "urban income real", 2010)


def test_oil_price_x02_cuts_output_jobs_and_people_within_bounds(extremes):
    """Oil price x0.2 from 2006: oil output, unemployment and out-migration answer; population
    stays above half the central path (the rest of the economy and natural growth remain).

    By 2015 the planned oil price has caught up with the low price (utilisation ~0.99), so
    the fall of real oil VA is the fields' loss of investment: field output falls to ~0.62
    of central, refinery output (pipeline crude, its own programme) hardly moves, and with
    the fields ~54% of oil VA the total falls ~21%. A point fit that put the field ceiling
    low (1.42, the ensemble's 5th percentile) held the central fields at their ceiling and
    cut only 12%: that was the point fit's free direction (models/CALIBRATION.md, section 2),
    not a reason to loosen this bound."""
    assert _case(extremes, "oil price x0.2", "oil VA real", 2006) < 0.85 * _case(
        extremes, "central", "oil VA real", 2006)
    assert _case(extremes, "oil price x0.2", "oil VA real", 2015) < 0.8 * _case(
        extremes, "central", "oil VA real", 2015)
    assert _case(extremes, "oil price x0.2", "unemployment rate", 2008) > _case(
        extremes, "central", "unemployment rate", 2008) + 2
    assert _case(extremes, "oil price x0.2", "net migration", 2009) < 0
    pop = _case(extremes, "oil price x0.2", "population", 2015)
    central = _case(extremes, "central", "population", 2015)
    assert 0.5 * central < pop < central


def test_population_doubled_means_unemployment_and_out_migration_not_own_jobs(extremes):
    """Twice the residents in 2000 find the same jobs: unemployment jumps, residents leave,
    and by 2015 population is within 0.6-1.2 x the central path (no self-made jobs)."""
    jobs = _case(extremes, "population doubled", "jobs", 2000)
    assert abs(jobs / _case(extremes, "central", "jobs", 2000) - 1) < 0.02
    assert _case(extremes, "population doubled", "unemployment rate", 2000) > 30
    assert _case(extremes, "population doubled", "net migration", 2001) < 0
    pop = _case(extremes, "population doubled", "population", 2015)
    central = _case(extremes, "central", "population", 2015)
    assert 0.6 * central < pop < 1.2 * central
    assert _case(extremes, "population doubled", "urban income real", 2000) < 0.7 * _case(
        extremes, "central", "urban income real", 2000)


def test_population_halved_means_vacancies_and_in_migration_within_the_housing_limit(extremes):
    assert _case(extremes, "population halved", "unemployment rate", 2000) <= _case(
        extremes, "central", "unemployment rate", 2000)
    assert _case(extremes, "population halved", "net migration rate", 2001) > 0.05
    pop = _case(extremes, "population halved", "population", 2015)
    assert pop < 1.2 * _case(extremes, "central", "population", 2015)


def _swings(series: np.ndarray, threshold: float) -> int:
    """Number of monotone runs between turning points (start and end included) that move by
    more than threshold: one for a fall that settles, two per cycle of a ringing system."""
    turning, direction = [series[0]], 0
    for a, b in itertools.pairwise(series):
        step = np.sign(b - a)
        if step == 0:
            continue
        if direction and step != direction:
            turning.append(a)
        direction = step
    turning.append(series[-1])
    return int(np.sum(np.abs(np.diff(turning)) > threshold))


def test_population_doubled_leaves_gradually_without_ringing(extremes):
    """Issue 16, review v3.1 point 6: twice the residents in 2000 sent 60% of them away in one
    year and unemployment rang (51, 1.2, 10.3, 1.2, 10.4% in 2000, 2001, 2005, 2006, 2009).
    Out-migration is now bounded and registered unemployment adjusts over time. Bounds: no
    year loses more than the maximum out-migration rate of its residents (direction: the
    population falls in 2001); unemployment stays above 20% through 2003 (the slack the
    surplus leaves), makes at most one swing of more than 5 points (the fall from the
    start) and changes by at most 10 points in any year."""
    pop, _ = _series(extremes, "population doubled", "population")
    bound = _case(extremes, "population doubled", "maximum out migration rate", 2000)
    change = pop[1:] / pop[:-1] - 1
    assert change[0] < 0
    assert change.min() >= -bound - 1e-9, (change.min(), bound)
    u, _ = _series(extremes, "population doubled", "unemployment rate")
    assert np.all(u[:4] > 20)
    assert _swings(u, 5.0) <= 1, u
    assert np.abs(np.diff(u)).max() <= 10, u


def test_population_halved_fills_within_the_housing_limit_without_ringing(extremes):
    """Half the residents in 2000 (v3.1: in-migration up to 42% of residents a year, then an
    overshoot to 14.9% unemployment). Bounds: residents never exceed the housing limit's
    (1 + crowding tolerance) x the housed population; no year's unemployment rate is more
    than 5 points above the central run's and no swing exceeds 5 points."""
    pop, _ = _series(extremes, "population halved", "population")
    housed, _ = _series(extremes, "population halved", "housed population")
    tolerance = _case(extremes, "population halved", "crowding tolerance", 2000)
    assert np.all(pop <= (1 + tolerance) * housed * (1 + 1e-9))
    u, _ = _series(extremes, "population halved", "unemployment rate")
    central, _ = _series(extremes, "central", "unemployment rate")
    assert np.all(u <= central + 5), u
    assert _swings(u, 5.0) == 0, u


def test_registered_unemployment_follows_the_balance_of_jobs_with_a_lag(extremes):
    """A 70% oil price collapse at the start of 2008: unemployment rises above the central
    path (direction) and stays more than 0.5 points above it for at least two years after
    2008; its largest one-year change is at most 5 points and at most 0.8 x the change when
    registered unemployment follows the jobs within one time step (adjustment time 1/8 year,
    the v3.1 behaviour; the review found up to 10.9 points in a year in the ensemble)."""
    u, years = _series(extremes, "oil collapse", "unemployment rate")
    central, _ = _series(extremes, "central", "unemployment rate")
    instant, _ = _series(extremes, "oil collapse, no lag", "unemployment rate")
    after = years >= 2009
    assert np.sum((u - central)[after] > 0.5) >= 2, u
    step = np.abs(np.diff(u)).max()
    assert step <= 5, u
    assert step <= 0.8 * np.abs(np.diff(instant)).max(), (u, instant)


def test_zero_investment_runs_oil_capacity_down_at_its_decline_rate(extremes):
    """No oil or private investment from 2006: field capacity declines at exactly the field
    decline rate (bound: 2015 = 2006 x exp(-9 x decline rate) within 0.5%), oil and private investment
    are zero, public investment stays >= 0, and real GDP in 2015 is below 0.8 x central."""
    assert _case(extremes, "zero investment", "budget scale", 2010) == pytest.approx(1.0)
    assert _case(extremes, "zero investment", "oil investment real", 2010) == pytest.approx(
        0.0, abs=1e-9)
    field_06 = _case(extremes, "zero investment", "field capacity", 2006)
    field_15 = _case(extremes, "zero investment", "field capacity", 2015)
    decline = _case(extremes, "zero investment", "oilfield decline rate", 2015)
    assert field_15 == pytest.approx(field_06 * np.exp(-9 * decline), rel=0.005)
    assert _case(extremes, "zero investment", "private investment real", 2010) == pytest.approx(
        0.0, abs=1e-9)
    public, _ = _series(extremes, "zero investment", "public investment real")
    assert np.all(public >= 0)
    assert _case(extremes, "zero investment", "GDP real", 2015) < 0.8 * _case(
        extremes, "central", "GDP real", 2015)
    assert _case(extremes, "zero investment", "unemployment rate", 2010) > _case(
        extremes, "central", "unemployment rate", 2010)


def test_zero_transfers_shrink_spending_not_below_zero(extremes):
    """No city transfers (from 2000): expenditure equals own revenue, public investment stays
    >= 0, and the greening the budget pays falls below the central run."""
    spend = _case(extremes, "zero transfers", "fiscal expenditure real", 2010)
    revenue = _case(extremes, "zero transfers", "fiscal revenue real", 2010)
    assert spend == pytest.approx(revenue, rel=1e-9)
    series, _ = _series(extremes, "zero transfers", "public investment real")
    assert np.all(series >= 0)
    assert _case(extremes, "zero transfers", "green ratio", 2010) < _case(
        extremes, "central", "green ratio", 2010)


def test_wage_spiral_corner_is_bounded(extremes):
    """v2's corner (full pass-through, substitution 0.8, tightness 2) gave a local wage index
    of 2.50 against 1.17 central: wage -> productivity -> wage was a reinforcing loop. In v3
    wages follow technology and the regional path, not the capital deepening dear labour
    brings, so the corner stays within 1.3 x the central wage index in every year."""
    corner, _ = _series(extremes, "wage spiral corner", "local wage index")
    central, _ = _series(extremes, "central", "local wage index")
    assert np.all(corner <= 1.3 * central)


def test_oil_decline_raises_unemployment_and_turns_migration_negative(extremes):
    assert _case(extremes, "oil decline", "oil VA real", 2015) < _case(
        extremes, "oil decline", "oil VA real", 2006)
    # unemployment rises above the central path (by its peak, 2008-2012), then out-migration
    # brings it back towards the frictional floor
    names, out = extremes
    gap = (out["unemployment rate"].sel(time=list(range(2008, 2013))).values[names.index(
        "oil decline")] - out["unemployment rate"].sel(time=list(range(2008, 2013))).values[0])
    assert gap.max() > 0.5
    assert _case(extremes, "oil decline", "net migration", 2012) < 0


def test_halving_time_step_moves_2010_and_2015_by_under_half_a_percent(plan):
    params = {**model_defaults(), **plan.central_parameters()}
    pysd_model = fresh_model()
    variables = indicators.model_variables(KARAMAY.indicators)
    runs = {}
    for dt in (0.125, 0.0625):
        frame = pysd_model.run(params=params, return_columns=variables, time_step=dt,
                               saveper=1, return_timestamps=[2010.0, 2015.0])
        runs[dt] = frame
    coarse, fine = runs[0.125], runs[0.0625]
    for var in variables:
        for year in (2010.0, 2015.0):
            a, b = coarse.loc[year, var], fine.loc[year, var]
            # a net flow is judged against the stock it changes, a percentage in points
            # (the primary share, a third of a percent, too: 0.05 points, not 0.5% of 0.3)
            # (and the public investment share, a residual near 2% of expenditure: 0.05 points)
            scale = {"net migration": fine.loc[year, "population"],
                     "unemployment rate": 10.0, "primary share": 10.0,
                     "public investment share": 0.1}.get(var, abs(b))
            assert abs(a - b) <= 0.005 * scale + 1e-12, f"{var} {year}: {a} vs {b} (dt 1/8, 1/16)"


def fresh_model():
    """A plain PySD model of its own, so changing its time step touches nothing else."""
    import pysd

    from simulator.engine import translate_reference

    return pysd.load(str(translate_reference(MODEL_FILE, KARAMAY.cache_dir)))


def model_defaults():
    return {k: p.default for k, p in model.parameters().items()}


def test_population_stock_balances(plan):
    params = {**model_defaults(), **plan.central_parameters()}
    pysd_model = fresh_model()
    dt = 0.125
    times = np.arange(2000, 2015 + dt / 2, dt)
    frame = pysd_model.run(params=params, return_columns=[
        "population", "births", "deaths", "net migration"], return_timestamps=list(times))
    pop = frame["population"].to_numpy()
    flows = (frame["births"] - frame["deaths"] + frame["net migration"]).to_numpy()
    change = np.diff(pop)
    expected = dt * flows[:-1]
    assert np.max(np.abs(change - expected) / pop[1:]) < 1e-9
    # and the indicator of natural growth is births minus deaths per thousand
    births_deaths = (frame["births"] - frame["deaths"]).to_numpy() / pop * 1000
    rate = simulate.run_one(params, ["natural_growth_rate"],
                            project=KARAMAY)["natural_growth_rate"]
    np.testing.assert_allclose(rate.sel(time=2010).item(),
                               births_deaths[np.searchsorted(times, 2010)], rtol=1e-12)


def test_committed_calibration_reproduces_history():
    values = calibrate.load_values()
    target = calibrate.Target.of_model(KARAMAY)
    x = np.array([values[n] for n in target.names])
    table = calibrate.point.residual_table(target, x)
    bad = [(r["figure"], r["history"], r["model"], r["z"]) for r in table if not r["within"]]
    assert not bad, f"outside {history.CUTOFF} sd: {bad}"


def test_committed_calibration_is_of_the_current_model():
    import tomllib

    meta = tomllib.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["meta"]
    assert meta["model_hash"] == file_hash(MODEL_FILE), "run `plansim calibrate` again"
    assert meta["history_hash"] == file_hash(KARAMAY.history)
    assert meta["errors_hash"] == file_hash(KARAMAY.history_errors)
    assert meta["ensemble_hash"] == file_hash(CALIBRATION_FILE.with_name(meta["ensemble_file"]))


def test_point_fit_from_the_model_defaults_is_the_committed_one():
    """Calibration v2's point: the joint fit of the whole history space from the model's
    defaults, with the family discrepancies estimated along the way, is the committed one."""
    from simulator.calibrate import space

    names = sorted(space.history_space(KARAMAY))
    sizes, target, full = calibrate.estimate_discrepancy(KARAMAY, names, 200)
    assert full.all_within, full.table()
    assert sizes == pytest.approx(history.committed_discrepancy(KARAMAY), abs=1e-6)
    committed = calibrate.load_values()
    for j, name in enumerate(target.names):
        assert abs(full.values[name] - committed[name]) <= 1e-3 * target.width[j], name


def test_every_constant_is_documented_with_role_units_and_range():
    params = model.parameters()
    assert {p.role for p in params.values()} >= {"calibrated", "uncertain", "lever"}
    for p in params.values():
        assert p.doc, f"{p.name} has no comment"
        assert p.units and p.units != "nan", f"{p.name} has no units"
        if p.role != "fixed":
            assert p.lower < p.upper and p.contains(p.default), f"{p.name}: range"
        else:
            assert "plan" in p.doc or "Bank" in p.doc or "derived" in p.doc \
                or "conversion" in p.doc or "assumption" in p.doc or "Year" in p.units, \
                f"fixed constant {p.name} cites no source: {p.doc}"


def test_levers_act_only_from_2006(plan):
    """Every lever at either end of its range leaves 2000-2005 untouched."""
    levers = model.parameters(role="lever")
    base = plan.central_parameters()
    runs = [base] + [{**base, **{k: getattr(p, end) for k, p in levers.items()}}
                     for end in ("lower", "upper")]
    params = {k: np.array([r.get(k, np.nan) for r in runs]) for k in base}
    for k in levers:
        params[k] = np.array([r[k] for r in runs])
    data = simulate.run(params, project=KARAMAY)
    history_years = list(KARAMAY.history_settings.years)
    for name in data.data_vars:
        if "time" not in data[name].dims:
            continue
        before = data[name].sel(time=history_years).values
        np.testing.assert_array_equal(before[1:], np.repeat(before[:1], 2, axis=0),
                                      err_msg=f"{name} moves before 2006")
        after = data[name].sel(time=2010).values
        if name in ("population", "green_ratio", "tertiary_share"):
            assert np.ptp(after) > 0, f"levers do not move {name} after 2006"


def test_models_readme_lists_every_parameter_as_the_model_has_it():
    text = (MODEL_FILE.parent / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- parameters:start -->\n", "\n<!-- parameters:end -->"
    table = text[text.index(start) + len(start):text.index(end)]
    assert table == model.markdown_table(), "run `plansim params --markdown` into models/README"
    for name, p in model.parameters().items():
        if p.role != "fixed":
            assert f"| {name} |" in table


def _lever_runs(plan, settings: list[dict], variables: list[str]):
    """Central runs of the plan with lever settings on top; returns (runs, dataset)."""
    base = plan.central_parameters()
    runs = [{**base, **s} for s in settings]
    params = {k: np.array([r[k] for r in runs], dtype=float) for k in base}
    return vector_model(KARAMAY).run(params, variables)


def test_talent_policy_adds_residents_output_and_posts(plan):
    """Issue 16, review point 2a: in v3 the talent lever removed residents (218,200 in 2010 at
    0, 217,100 at 0.015) because its migrants competed for existing jobs and its cost squeezed
    the budget. Recruits now fill posts recruited for them and raise local firms'
    productivity: at the plan's upper end (0.005) population 2010 rises by at least half the
    recruits that arrived, local industry output rises, and unemployment rises by < 0.2 points."""
    room = {"public investment commitment": 0.12}  # leaves the programmes budget (below the
    # plan's range, where the central run pays no discretionary programme: plan.toml)
    out = _lever_runs(plan, [{**room, "talent attraction rate": 0.0},
                             {**room, "talent attraction rate": 0.005}],
                      ["population", "local industry VA real", "unemployment rate",
                       "talent arrivals", "talent workers"])
    pop = out["population"].sel(time=2010).values
    arrivals = float(out["talent arrivals"].sel(time=slice(2006, 2009.99)).mean()) * 4
    assert pop[1] - pop[0] > 0.5 * arrivals > 0
    assert out["talent workers"].sel(time=2010).values[1] > 0
    va = out["local industry VA real"].sel(time=2010).values
    assert va[1] > va[0]
    u = out["unemployment rate"].sel(time=2010).values
    assert u[1] - u[0] < 0.2


def test_investment_attraction_is_land_and_tax_not_budget(plan):
    """Review point 2b: incentives are forgone taxes of the attracted firms, not spending the
    programmes share: investment attraction at 0.25 raises private investment and local
    industry output and does not lower the 2010 green ratio by more than 0.5 points (v3: 81% ->
    44% of futures met the green goal from 0 to 0.2). It may raise it: the attracted firms'
    taxes enlarge the budget greening takes its share of (model v3.2, greening paid before the
    discretionary programmes: +0.36 points in the central run at a public investment
    commitment of 0.12), but by less than 1 point. With the commitment's range (review of v3.2,
    finding 1; centre 0.2215) the committed lines are scaled and the forgone taxes weigh more:
    -0.30 points in the central run."""
    out = _lever_runs(plan, [{"investment attraction": 0.0}, {"investment attraction": 0.25}],
                      ["private investment real", "local industry VA real", "green ratio",
                       "attracted capital share"])
    assert np.all(np.diff(out["private investment real"].sel(time=2008).values) > 0)
    assert np.all(np.diff(out["local industry VA real"].sel(time=2010).values) > 0)
    green = out["green ratio"].sel(time=2010).values
    assert -0.5 < green[1] - green[0] < 1.0
    assert 0 < out["attracted capital share"].sel(time=2015).values[1] < 0.25


def test_public_investment_keeps_its_share_under_the_plan(plan):
    """Review point 2c: under v3's plan levers public investment fell from 14.8% of
    expenditure (2005) to 0 by 2008, against 加强基础设施建设 (四.(二)). It now asks its committed
    share beside the programmes: in every year 2006-2015 it gets at least the committed share
    times the budget scale, and never less than half the committed share."""
    out = _lever_runs(plan, [{}], ["public investment share", "budget scale",
                                   "public investment committed"])
    years = slice(2006, 2015)
    share = out["public investment share"].sel(time=years).values[0]
    scale = out["budget scale"].sel(time=years).values[0]
    committed = out["public investment committed"].sel(time=years).values[0]
    assert np.all(committed > 0)
    assert np.all(share >= committed * scale - 1e-12)
    assert np.all(share >= 0.5 * committed)


def test_public_investment_does_not_fall_in_2006_anywhere_in_the_plan_range(plan):
    """Issue 16 review of v3.2, findings 1-2: at the lever point 0.12 real public investment
    fell 29% in 2006, and the quick lever search cut the commitment to 0.016, both against
    四.(二).1 必须进一步加大投资力度. The commitment is now an implementation range the search
    does not move, a multiple of each future's own 2005 share (second review: one band of
    shares for all futures sat above the own share in 70% of them and set the green goal);
    its low end 1 keeps the 十五 share. At both ends (central run) the committed share is the
    multiple times the 2005 share, and real public investment in 2006 is at least 98% of 2005
    (v3.3: the floor is paid first; a short room scales greening, not it)."""
    name = "public investment commitment"
    assert name in plan.implementation and name not in plan.levers
    unc = plan.uncertainties[name]
    assert 1.0 <= unc.spec["low"] < unc.spec["high"] <= 1.5
    ends = [unc.spec["low"], unc.spec["high"]]
    out = _lever_runs(plan, [{name: e} for e in ends],
                      ["public investment real", "public investment committed",
                       "public investment share 2005"])
    p = out["public investment real"]
    assert np.all(p.sel(time=2006).values >= p.sel(time=2005).values * (1 - 1e-9))
    own = out["public investment share 2005"].sel(time=2008).values
    committed = out["public investment committed"].sel(time=2008).values
    assert np.all(committed >= np.array(ends) * own * (1 - 1e-12))
    assert committed[1] > committed[0]


def test_cutting_public_investment_costs_the_commerce_it_builds(plan):
    """Issue 16 review of v3.2, finding 2: the 十五 commerce pace (boost 0.19) is credited to
    public investment (四区一园一带, 四.(二).1) but took MIN(boost, 0.19) whatever public
    investment was paid. The built part now needs real public investment at its 2005 level.
    A commitment below the 2005 share no longer cuts it (the floor below), and since v3.3 the
    floor is paid first, before greening, so the cut needs a room below the floor itself:
    culture at 0.30 of expenditure from 2006 (outside its range on purpose) leaves 0.03, real
    public investment falls; the build-out is then funded in part and builds less commerce
    and less tertiary output; 2000-2005 is untouched."""
    boost = {"commerce tourism boost": plan.overrides["commerce boost in public investment"]}
    out = _lever_runs(plan, [{**boost, "culture spending share": 0.30}, boost],
                      ["commerce effect", "commerce build out funded", "tertiary VA real"])
    funded = out["commerce build out funded"].sel(time=slice(2006, 2015)).values
    assert funded[0].min() < 0.8 and funded[1].min() > 0.99
    effect = out["commerce effect"].sel(time=2006).values
    assert effect[0] < effect[1] - 0.03
    t = out["tertiary VA real"]
    assert t.sel(time=2008).values[0] < t.sel(time=2008).values[1]
    early = t.sel(time=slice(2000, 2005)).values
    assert np.array_equal(early[0], early[1])


def test_public_investment_keeps_its_2005_real_level_whatever_the_commitment(plan):
    """Issue 16 review of v3.2, finding 1 (the gap invest17 left): one committed share for
    every future let real public investment fall in 2006 in 24% of futures, those whose own
    2000-2005 share is higher (必须进一步加大投资力度, 四.(二).1). The committed line is now
    never less than the share that keeps real public investment at its 2005 level: at a
    commitment of 0 or 0.12 real public investment 2006-2010 is at least its 2005 level. Up
    to v3.2 the floor was scaled with greening when the two asked more than the room, and
    real public investment fell in 2006 (by 6% in the central run, in 29% of futures); since
    v3.3 the floor is paid first (model `public investment floor paid`), so 2006 holds too;
    2000-2005 is the same."""
    out = _lever_runs(plan, [{"public investment commitment": 0.0},
                             {"public investment commitment": 0.12}],
                      ["public investment real", "public investment real 2005"])
    real = out["public investment real"]
    for k in range(2):
        level = real.sel(time=2005).values[k]
        assert (real.sel(time=slice(2006, 2010)).values[k] >= level * (1 - 1e-9)).all()
    assert np.array_equal(real.sel(time=slice(2000, 2005)).values[0],
                          real.sel(time=slice(2000, 2005)).values[1])
    held = out["public investment real 2005"].sel(time=2008).values
    assert np.allclose(held, real.sel(time=2005).values, rtol=1e-12)


def test_green_ratio_rises_no_faster_in_2001_than_the_history_average(plan):
    """Review point 2d: v3 raised the green ratio by 5.5 points in 2001 against 19.7 / 5 =
    3.94 points a year 2000-2005 (一.(三)): the gap response front-loaded the 55321 programme.
    Without it (the response acts from 2006) the path is still concave, as land to green
    gets scarcer and residents arrive faster after 2002 (4.6, 4.4, 4.1, 3.6, 3.1 points at the
    calibrated point): the 2001 rise stays within 1.2 x the average (the history has only
    the two ends), the rise falls year by year, and 2005 stays within 1.5 points of 35%."""
    out = _lever_runs(plan, [{}], ["green ratio"])
    g = out["green ratio"].values[0]
    t = list(out["time"].values)
    rise_2001 = g[t.index(2001)] - g[t.index(2000)]
    assert 0 < rise_2001 <= 1.2 * 19.7 / 5
    rises = np.diff([g[t.index(y)] for y in range(2000, 2006)])
    assert np.all(np.diff(rises) < 0)
    assert abs(g[t.index(2005)] - 35.0) < 1.5


def test_committed_lines_are_paid_before_the_discretionary_programmes(plan):
    """Issue 16 review finding 5: the programmes asked for more than the budget (scale 0.71 in
    2006) and every one was scaled, so greening fell from 0.210 to 0.160 of expenditure and
    public investment from 12.0% to 8.6% in 2006, against 大力提高城区绿化水平 (四.(三).1) and
    必须进一步加大投资力度 (四.(二).1). Greening at the plan's effort and the committed public
    investment are now paid first; the discretionary programmes (promotion, talent, energy
    saving) share what is left, so they never spend more than the plan's priorities leave.
    Since v3.3 (REVIEW-v3.2c.md) the order is: the public investment floor (its 2005 real
    level), then the held lines (greening at its 2005 real level and the energy-saving
    programmes), then the rises of greening and public investment, then talent and
    promotion. Since v3.3b (REVIEW-v3.3.md M1: paid last, promotion was paid in 0.8% of
    futures, against 四.(一).1 加大…整体宣传促销力度 for the tertiary share, a main goal) the
    commerce promotion is paid with the rises, in proportion; talent last. Checked at the
    central run and at the top of the promotion range (boost 0.4, cost 0.6)."""
    variables = ["greening spending real", "fiscal expenditure real", "greening effective share",
                 "public investment share", "budget scale", "budget room", "committed demand",
                 "discretionary demand", "promotion spending share", "science share paid",
                 "culture share paid", "committed budget scale", "public investment committed",
                 "public investment floor paid", "public investment floor share", "held demand",
                 "held budget scale", "greening floor share", "greening paid share"]
    out = _lever_runs(plan, [{}, {"commerce tourism boost": 0.4, "commerce promotion cost": 0.6}],
                      variables)
    years = slice(2006, 2015)
    y = {v: out[v].sel(time=years).values for v in variables}
    committed = y["public investment committed"]
    floor = y["public investment floor paid"]
    assert np.allclose(floor, y["public investment floor share"])  # the floor is paid in full
    hscale, cscale = y["held budget scale"], y["committed budget scale"]
    after_floor = y["budget room"] - floor
    assert np.allclose(hscale, np.minimum(1, after_floor / y["held demand"]))
    after_held = after_floor - y["held demand"] * hscale
    assert np.allclose(cscale, np.minimum(1, np.maximum(0, after_held) / y["committed demand"]))
    spent_green = y["greening spending real"] / y["fiscal expenditure real"]
    assert np.allclose(spent_green, y["greening paid share"], rtol=1e-9)
    assert np.all(y["greening paid share"] >= y["greening floor share"] * hscale - 1e-12)
    rise = committed - y["public investment floor share"]
    assert np.all(y["public investment share"] >= floor + rise * cscale - 1e-12)
    assert cscale[1].min() < 0.7  # the squeeze is real at the top of the range, shared by the
    # rises and the promotion in proportion (promotion is part of the committed demand)...
    asked = (y["greening effective share"] - y["greening floor share"] + rise
             + y["promotion spending share"])
    assert np.allclose(y["committed demand"], asked)
    # ...and talent gets only what they leave
    paid = y["discretionary demand"] * y["budget scale"]
    assert np.all(paid <= after_held - y["committed demand"] * cscale + 1e-12)
    assert np.allclose(y["science share paid"], 0.02) and np.allclose(y["culture share paid"], 0.02)


def test_the_low_end_of_the_commerce_boost_continues_the_tenth_plan_pace(plan):
    """Issue 16 review finding 1: at boost 0 real services grew 10.9%/yr 2005-2010 against
    13.2%/yr in 2001-2005 (一.(二)), under 十五's own 商贸活区 strategy. The range's low end is
    that pace continued, built by public investment (四区一园一带, 四.(二).1), with no promotion
    spending; the high end adds promotion paid from what the committed lines leave. The pace
    is measured in the ensemble (below); the central run grows a little faster."""
    boost = plan.uncertainties["commerce tourism boost"]
    low, high = boost.spec["low"], boost.spec["high"]
    assert plan.overrides["commerce boost in public investment"] == low
    room = {"public investment commitment": 0.12}  # the high end's promotion needs budget
    # room, which the plan's public investment range leaves none of in the central run
    out = _lever_runs(plan, [{**room, "commerce tourism boost": low},
                             {**room, "commerce tourism boost": high},
                             {**room, "commerce tourism boost": 0.0}],
                      ["tertiary VA real", "promotion spending share"])
    t = out["tertiary VA real"]
    growth = 100 * ((t.sel(time=2010) / t.sel(time=2005)).values ** 0.2 - 1)
    assert 13.0 < growth[0] < 14.0
    assert growth[2] < 12.0 < growth[0] < growth[1]
    promo = out["promotion spending share"].sel(time=slice(2006, 2010)).values
    assert np.all(promo[0] == 0) and np.all(promo[1] > 0)


def test_the_plan_never_greens_below_a_futures_own_2000_2005_effort(plan):
    """大力提高城区绿化水平 (四.(三).1): from 2006 the greening share is the lever, but never
    below the future's own calibrated 2000-2005 share. The history-matched sets lie along a
    share-cost ridge (0.13 at 41 yuan/m2 and 0.275 at 98 fit 2000-2005 alike); a fixed lever
    of 0.148 would have halved greening where the share was 0.275 (mirrored-default fit: green
    ratio 38.7% in 2010 against 46.5%, tests/test_calibration_propagation.py)."""
    lever = plan.levers["greening spending share"].value
    out = _lever_runs(plan, [{"historical greening share": 0.10},
                             {"historical greening share": 0.25}], ["greening share in force"])
    years = slice(2006, 2015)
    share = out["greening share in force"].sel(time=years).values
    assert np.allclose(share[0], lever) and np.allclose(share[1], 0.25)
    before = out["greening share in force"].sel(time=slice(2000, 2005)).values
    assert np.allclose(before[0], 0.10) and np.allclose(before[1], 0.25)


def test_building_programme_runs_outside_the_district_budget(plan):
    """Third review of v3.2 (REVIEW-v3.2c.md): charged to the district budget and scaled with
    it, the building programme (the national design standard for new buildings, met by
    builders through the permit) ran at zero in 89% of futures once greening and public
    investment took the room. It is now neither charged nor scaled: with the budget scale at
    0 (central run, 2006-2010) the programme still lowers building energy per resident, by
    at least half of its nominal pace over 2006-2010, and it asks nothing of the budget.
    Since v3.3 the budget runs out only in extreme settings: culture at 0.30 of expenditure
    (outside its range on purpose) leaves no room for the held and committed lines."""
    squeeze = {"culture spending share": 0.30}
    out = _lever_runs(plan, [{**squeeze, "building energy programme": 0.0},
                             {**squeeze, "building energy programme": 0.04},
                             {"building energy programme": 0.0},
                             {"building energy programme": 0.04}],
                      ["building energy per resident", "held budget scale",
                       "committed budget scale", "energy saving requested"])
    years = slice(2006, 2010)
    assert float(out["committed budget scale"].sel(time=years).values[1].max()) < 0.05
    assert float(out["held budget scale"].sel(time=years).values[1].max()) < 0.5
    b = out["building energy per resident"].sel(time=2010).values
    assert b[1] < b[0] * (1 - 0.5 * 0.04 * 4)
    assert b[3] < b[2] * (1 - 0.5 * 0.04 * 4)
    asked = out["energy saving requested"].sel(time=2006).values[2:]  # later years move through
    assert asked[0] == pytest.approx(asked[1], rel=1e-5)  # the intensity gap the programme
    # narrows (the budget programmes run from 2006 since v3.3), not its cost


@pytest.fixture(scope="module")
def plan_futures(plan):
    """400 futures of the plan scenario (as `plansim reach` draws them), budget variables."""
    from simulator import sample
    from simulator.running import ensemble

    samples = sample.futures(plan, 400, 0, "ensemble")
    params = ensemble.parameters(plan, samples, None)
    variables = ["public investment real", "greening spending real", "held budget scale",
                 "programme effort multiplier", "programme effort requested",
                 "public investment floor paid", "public investment floor share",
                 "tertiary VA real"]
    return vector_model(KARAMAY).run(params, variables, years=list(range(2004, 2011)),
                                     seed=0, run_keys=ensemble.noise_keys(samples))


def test_real_public_investment_never_falls_below_2005_in_the_plans_futures(plan_futures):
    """Third review of v3.2 (REVIEW-v3.2c.md, M): scaled with greening when the two asked
    more than the room, the 2005 real-level floor let real public investment fall in 2006 in
    28.7% of futures (63% at the range's low end), against 必须进一步加大投资力度 (四.(二).1).
    Since v3.3 the floor is paid first: in every future real public investment 2006-2010 is
    at least its 2005 level. The documented exception (the floor above the whole room after
    recurrent, science and culture spending, which needs real expenditure to fall by about a
    third) occurs in none of these futures."""
    out = plan_futures
    real = out["public investment real"]
    level = real.sel(time=2005).values
    for year in range(2006, 2011):
        assert np.all(real.sel(time=year).values >= level * (1 - 1e-9)), year
    assert np.allclose(out["public investment floor paid"].sel(time=slice(2006, 2010)),
                       out["public investment floor share"].sel(time=slice(2006, 2010)))


def test_energy_saving_programmes_are_paid_not_zeroed_by_the_budget_order(plan_futures):
    """Third review of v3.2 (REVIEW-v3.2c.md, D): paid after greening and public investment,
    the industry and transport energy-saving programmes ran at zero in 89% of futures (effort
    multiplier 2006-2010: median 0.000, 90th percentile 0.006). They now serve the main goal
    -20% energy intensity (三.(四).1) as held lines paid after the public investment floor (五.(四):
    the yearly budget carries the plan's targets): in every future they get at least half of
    what they ask on average over 2006-2010, in 90% at least 90%. The price: where real
    expenditure grows too little in 2006 to hold greening's 2005 real level after the floor,
    greening and the programmes are scaled together, and real greening falls (in about a
    quarter of futures; models/README.md, v3.3) but by less than 35% (0.69 of its 2005
    level at worst in these 400 futures since v3.3b pays the promotion with the rises)."""
    out = plan_futures
    years = slice(2006, 2010)
    paid = (out["programme effort multiplier"].sel(time=years)
            / out["programme effort requested"].sel(time=years)).mean("time").values
    assert paid.min() >= 0.5
    assert np.percentile(paid, 10) >= 0.9
    green = out["greening spending real"]
    ratio = (green.sel(time=2006) / green.sel(time=2005)).values
    assert ratio.min() > 0.65
    short = out["held budget scale"].sel(time=2006).values < 1
    assert np.all(ratio[~short] >= 1 - 1e-9)  # greening falls only where the held lines are short


def test_the_commerce_low_end_continues_the_tenth_plan_pace_in_the_median_future(plan):
    """Fourth review of v3.2 (REVIEW-v3.2d.md, M1): at 0.19 the central run grew services
    13.2%/yr 2005-2010 (一.(二): 年均递增13.2%) but the median future only 12.9%/yr (tertiary
    goal -3.1 +- 0.8 points). The scenario's setting is now measured on the plan's futures: the
    median future's real tertiary growth 2005-2010 is 13.2%/yr (the text's figure is printed to
    0.1; the plan's 2,000 futures of `plansim reach --runs 2000 --seed 0`, at the range's low
    end: a smaller sample's median is off by up to 0.4 points)."""
    from simulator import sample
    from simulator.running import ensemble

    samples = sample.futures(plan, 2000, 0, "ensemble")
    params = ensemble.parameters(plan, samples, None)
    params["commerce tourism boost"] = np.full(2000, plan.uncertainties[
        "commerce tourism boost"].spec["low"])
    t = vector_model(KARAMAY).run(params, ["tertiary VA real"], years=[2005, 2010], seed=0,
                                  run_keys=ensemble.noise_keys(samples))["tertiary VA real"]
    growth = 100 * ((t.sel(time=2010) / t.sel(time=2005)).values ** 0.2 - 1)
    assert abs(np.median(growth) - 13.2) < 0.15
