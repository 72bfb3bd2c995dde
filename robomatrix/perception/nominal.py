"""The robot's prior on the sizes of the things it works with: the object catalogue.

One place for the nominal geometry that perception (shape fitting, containment) and the skills
(drop spots) assume. It describes real objects — a 330 ml soda can, an open cardboard box, a
round office trash bin — and is independent of the simulator: the simulated scenes are built
to the same catalogue (tests/test_scenes.py checks that they agree), but nothing here reads them.
"""
from __future__ import annotations

CAN_RADIUS_M = 0.033  # 330 ml soda can
CAN_HEIGHT_M = 0.12

CONTAINER_WALL_M = 0.01  # wall thickness of the box and the bin
BOX_INNER_M = (0.24, 0.20)  # open cardboard box, inner length x width
BOX_WALL_HEIGHT_M = 0.10
BIN_INNER_DIAMETER_M = 0.30  # round office trash bin (real ones are 25-35 cm across)
BIN_WALL_HEIGHT_M = 0.12

BOX_OUTER_M = (BOX_INNER_M[0] + 2 * CONTAINER_WALL_M, BOX_INNER_M[1] + 2 * CONTAINER_WALL_M)
BIN_WALL_MID_RADIUS_M = BIN_INNER_DIAMETER_M / 2 + CONTAINER_WALL_M / 2  # what a circle fit to the wall finds
INNER_SIZE_M = {"box": BOX_INNER_M, "bin": (BIN_INNER_DIAMETER_M, BIN_INNER_DIAMETER_M)}

# the cabinet's drawer, measured from the handle bar that perception finds
DRAWER_HANDLE_STANDOFF_M = 0.045  # handle bar axis → outer face of the drawer front
DRAWER_FRONT_THICKNESS_M = 0.015
DRAWER_HANDLE_TO_FRONT_INSIDE_M = DRAWER_HANDLE_STANDOFF_M + DRAWER_FRONT_THICKNESS_M  # → the front's inner face
DRAWER_TRAY_DEPTH_M = 0.32  # the tray, front to back (most of it inside the cabinet unless pulled out)
DRAWER_TRAY_HALF_WIDTH_M = 0.19
# the cabinet's face (the edge of its top) lies this much less than the opening behind the front's inner
# face: the exposed interior a can drops into is (opening - this) deep
CABINET_FACE_SHORT_OF_OPENING_M = 0.015
