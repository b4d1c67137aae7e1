"""NVML sampler as a measurement observer: `before()` opens NVML and starts a background thread,
`during()` counts the calls of the benchmark loop, `after()` stops sampling and condenses the
readings (median power, energy per call from the total-energy counter, clocks, temperature,
clock-event reasons decoded to names) together with the GPU's identity.

Units follow NVML's reference: nvmlDeviceGetPowerUsage in milliwatts,
nvmlDeviceGetTotalEnergyConsumption in millijoules since driver load, clocks in MHz.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from kernelwright.contracts import GPUIdentity, Metric
from kernelwright.gpu.nvml import _nvml_lock, identity_of

# Bit values of nvmlClocksEventReason* (nvml.h; identical to the older ClocksThrottleReason* names).
CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}


def decode_clock_event_reasons(mask: int) -> list[str]:
    """Names of the bits set in an NVML clock-event (throttle) reason mask, lowest bit first."""
    names = [name for bit, name in sorted(CLOCK_EVENT_REASONS.items()) if mask & bit]
    unknown = mask & ~sum(CLOCK_EVENT_REASONS)
    if unknown:
        names.append(f"other(0x{unknown:x})")
    return names


class NvmlSample(BaseModel):
    """One raw NVML reading, in NVML's own units."""

    t_s: float
    power_mw: int | None = None
    sm_clock_mhz: int | None = None
    mem_clock_mhz: int | None = None
    temperature_c: int | None = None
    reasons_mask: int | None = None


class PowerReading(BaseModel):
    """Condensed NVML figures for one benchmark loop."""

    gpu: GPUIdentity | None = None
    calls: int
    duration_s: float
    samples: int
    power_w_median: float | None = None
    energy_per_call_mj: float | None = Field(None, description="From the total-energy counter delta.")
    energy_source: str = Field("counter", description="'counter', or 'power x time' without the counter.")
    sm_clock_mhz_median: float | None = None
    mem_clock_mhz_median: float | None = None
    temperature_c_max: int | None = None
    throttle_reasons: list[str] = Field(default_factory=list, description="Seen in any sample, except idle.")


def summarise(
    samples: list[NvmlSample],
    *,
    calls: int,
    duration_s: float,
    energy_delta_mj: float | None,
    gpu: GPUIdentity | None,
) -> PowerReading:
    """Pure: the condensed reading from raw samples (tested on recorded/documented readings)."""

    def median(values: list[int | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(statistics.median(present)) if present else None

    power_mw = median([s.power_mw for s in samples])
    mask = 0
    for s in samples:
        mask |= s.reasons_mask or 0
    reasons = [r for r in decode_clock_event_reasons(mask) if r != "gpu_idle"]
    energy, source = None, "counter"
    if energy_delta_mj is not None and calls:
        energy = energy_delta_mj / calls
    elif power_mw is not None and calls:
        energy, source = power_mw * duration_s / calls, "power x time"
    temps = [s.temperature_c for s in samples if s.temperature_c is not None]
    return PowerReading(
        gpu=gpu,
        calls=calls,
        duration_s=duration_s,
        samples=len(samples),
        power_w_median=power_mw / 1000 if power_mw is not None else None,
        energy_per_call_mj=energy,
        energy_source=source,
        sm_clock_mhz_median=median([s.sm_clock_mhz for s in samples]),
        mem_clock_mhz_median=median([s.mem_clock_mhz for s in samples]),
        temperature_c_max=max(temps) if temps else None,
        throttle_reasons=reasons,
    )


def power_metrics(reading: PowerReading) -> list[Metric]:
    pairs = [
        ("power_w_median", reading.power_w_median, "W"),
        ("energy_per_call_mj", reading.energy_per_call_mj, "mJ"),
        ("sm_clock_mhz_median", reading.sm_clock_mhz_median, "MHz"),
        ("mem_clock_mhz_median", reading.mem_clock_mhz_median, "MHz"),
        ("temperature_c_max", reading.temperature_c_max, "C"),
    ]
    return [Metric(source="nvml", name=n, value=float(v), unit=u) for n, v, u in pairs if v is not None]


def _try(fn: Any, *args: Any) -> Any | None:
    try:
        return fn(*args)
    except Exception:
        return None


class NvmlSampler:
    """Observer around a benchmark loop: before() / during() per call / after() -> PowerReading."""

    def __init__(self, index: int = 0, interval_s: float = 0.02):
        self.index, self.interval_s = index, interval_s
        self._nvml: Any | None = None
        self._handle: Any | None = None
        self._samples: list[NvmlSample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._calls = 0
        self._t0 = 0.0
        self._energy0: int | None = None
        self._gpu: GPUIdentity | None = None

    def before(self) -> bool:
        """Starts sampling; False (and the loop simply runs unobserved) when NVML is unusable."""
        try:
            import pynvml

            with _nvml_lock:
                pynvml.nvmlInit()
        except Exception:
            return False
        self._nvml = pynvml
        self._handle = _try(pynvml.nvmlDeviceGetHandleByIndex, self.index)
        self._gpu = identity_of(pynvml, self.index)
        self._energy0 = _try(pynvml.nvmlDeviceGetTotalEnergyConsumption, self._handle)
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="kw-nvml-sampler", daemon=True)
        self._thread.start()
        return True

    def during(self) -> None:
        self._calls += 1

    @property
    def calls(self) -> int:
        return self._calls

    def _sample(self) -> NvmlSample:
        nvml, h = self._nvml, self._handle
        assert nvml is not None
        reasons = _try(nvml.nvmlDeviceGetCurrentClocksEventReasons, h)
        if reasons is None:
            reasons = _try(nvml.nvmlDeviceGetCurrentClocksThrottleReasons, h)
        return NvmlSample(
            t_s=time.perf_counter() - self._t0,
            power_mw=_try(nvml.nvmlDeviceGetPowerUsage, h),
            sm_clock_mhz=_try(nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_SM),
            mem_clock_mhz=_try(nvml.nvmlDeviceGetClockInfo, h, nvml.NVML_CLOCK_MEM),
            temperature_c=_try(nvml.nvmlDeviceGetTemperature, h, nvml.NVML_TEMPERATURE_GPU),
            reasons_mask=reasons,
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._samples.append(self._sample())
            self._stop.wait(self.interval_s)

    def after(self) -> tuple[PowerReading | None, list[NvmlSample]]:
        """Stops sampling; the condensed reading and the raw samples (for fixtures)."""
        if self._nvml is None:
            return None, []
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        duration = time.perf_counter() - self._t0
        energy1 = _try(self._nvml.nvmlDeviceGetTotalEnergyConsumption, self._handle)
        delta = float(energy1 - self._energy0) if energy1 is not None and self._energy0 is not None else None
        with _nvml_lock:
            _try(self._nvml.nvmlShutdown)
        reading = summarise(
            self._samples, calls=self._calls, duration_s=duration, energy_delta_mj=delta, gpu=self._gpu
        )
        return reading, list(self._samples)
