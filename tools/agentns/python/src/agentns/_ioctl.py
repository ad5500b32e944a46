# SPDX-License-Identifier: GPL-2.0
"""``_IOC()`` of ``<asm/ioctl.h>`` for the machine this runs on.

Not every architecture uses the asm-generic layout (the size in 14 bits
from bit 16, 2 direction bits above it, ``_IOC_NONE`` 0, ``_IOC_WRITE`` 1,
``_IOC_READ`` 2).  Python has no ``_IOC``, and the standard library
exposes no ioctl number that is ``_IOC``-encoded on every architecture
to derive the layout from, so this holds a small table of the exceptions
(from the kernel's ``arch/*/include/uapi/asm/ioctl.h``), by
``platform.machine()``, the kernel's architecture, whose encoding a
32-bit userland on a 64-bit kernel shares:

- alpha, mips, powerpc and sparc: 13 size bits, 3 direction bits,
  ``_IOC_NONE`` 1, ``_IOC_READ`` 2, ``_IOC_WRITE`` 4;
- parisc: the generic layout with ``_IOC_READ`` 1 and ``_IOC_WRITE`` 2;
- every other: the generic layout.

``tests/test_nsfs.py`` checks the table against what the C compiler makes
of ``<asm/ioctl.h>`` for each of these architectures.
"""

from __future__ import annotations

import platform
from typing import NamedTuple, Optional

# <linux/nsfs.h>
NSIO = 0xB7


class IocLayout(NamedTuple):
    """The ``_IOC`` encoding of an architecture (``<asm/ioctl.h>``)."""

    size_bits: int
    none: int
    read: int
    write: int

    @property
    def dir_shift(self) -> int:
        return 16 + self.size_bits


IOC_GENERIC = IocLayout(14, 0, 2, 1)
# platform.machine() prefixes of the architectures with their own layout.
IOC_LAYOUTS = (
    (("alpha",), IocLayout(13, 1, 2, 4)),
    (("mips",), IocLayout(13, 1, 2, 4)),
    (("ppc", "powerpc"), IocLayout(13, 1, 2, 4)),
    (("sparc",), IocLayout(13, 1, 2, 4)),
    (("parisc",), IocLayout(14, 0, 1, 2)),
)


def ioc_layout(machine: Optional[str] = None) -> IocLayout:
    """The ``_IOC`` layout for ``machine`` (``platform.machine()`` when
    not given)."""
    m = (platform.machine() if machine is None else machine).lower()
    for prefixes, layout in IOC_LAYOUTS:
        if m.startswith(prefixes):
            return layout
    return IOC_GENERIC


def ioc(direction: str, type_: int, nr: int, size: int, machine: Optional[str] = None) -> int:
    """``_IOC(dir, type, nr, size)``; ``direction`` is ``"none"``,
    ``"read"``, ``"write"`` or ``"read|write"``."""
    lay = ioc_layout(machine)
    d = 0
    for part in direction.split("|"):
        d |= getattr(lay, part)
    return (d << lay.dir_shift) | (size << 16) | (type_ << 8) | nr


def io(type_: int, nr: int, machine: Optional[str] = None) -> int:
    """``_IO(type, nr)``."""
    return ioc("none", type_, nr, 0, machine)


def ior(type_: int, nr: int, size: int, machine: Optional[str] = None) -> int:
    """``_IOR(type, nr, size)`` (``size`` in bytes)."""
    return ioc("read", type_, nr, size, machine)
