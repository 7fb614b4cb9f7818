"""The risk layer's arrays: limits and usage, one row per account, per account
x instrument, per instrument.

All int64 (money in micro-units of the currency, quantities in units, prices
in ticks). A limit of `NO_LIMIT` is not checked. The kernels in
`risk.kernels` read and write these; `risk.gate.RiskGate` owns them.
"""
import numpy as np

NO_LIMIT = np.iinfo(np.int64).max

ACCOUNT_DTYPE = np.dtype([
    # limits (from the configuration, changed at run time by risk commands)
    ("state", np.int64),                # 0 active, 1 reducing, 2 halted
    ("kill", np.int64),                 # the account's kill switch
    ("allow_short", np.int64),          # -1 not checked, 0 no, 1 if marked short
    ("max_order_qty", np.int64),
    ("max_order_notional", np.int64),
    ("credit_limit", np.int64),
    ("gross_position_limit", np.int64),
    ("max_open_orders", np.int64),
    ("max_orders_per_second", np.int64),
    ("max_cancels_per_second", np.int64),
    ("daily_qty_limit", np.int64),
    ("daily_notional_limit", np.int64),
    # usage
    ("open_orders", np.int64),
    ("open_qty", np.int64),             # open quantity, both sides
    ("open_notional", np.int64),        # open notional, both sides
    ("open_buy_notional", np.int64),
    ("long_cost", np.int64),            # cost of the long positions
    ("gross", np.int64),                # sum over instruments of the pair's exposure
    ("daily_qty", np.int64),            # traded today
    ("daily_notional", np.int64),
    ("order_ring_pos", np.int64),       # next slot of the throttles' rings (< the cap)
    ("cancel_ring_pos", np.int64),
])

POSITION_DTYPE = np.dtype([             # one row per account x instrument
    ("max_order_qty", np.int64),        # the account's, or the pair's override
    ("position_limit", np.int64),
    ("restricted", np.int64),
    ("position", np.int64),             # signed: long > 0
    ("open_buy", np.int64),             # open quantity of live buy orders
    ("open_sell", np.int64),
    ("cost", np.int64),                 # signed cost of the position (money)
    ("realised", np.int64),             # realised P&L (money)
    ("exposure", np.int64),             # max(|pos + open_buy|, |pos - open_sell|)
    ("bought", np.int64),               # traded today, for the reports
    ("sold", np.int64),
])

INSTRUMENT_DTYPE = np.dtype([
    ("tick_money", np.int64),           # money units per tick per unit of quantity
    ("halted", np.int64),
    ("restricted", np.int64),
    ("reference_price", np.int64),      # ticks; 0 none
    ("collar_ticks", np.int64),         # 0 none
    ("collar_ppm", np.int64),           # 0 none
])

# the risk counters (one int64 array)
R_KILL = 0              # the global kill switch
R_ORDER_CAP = 1         # ring widths: the order ring, then the cancel ring
R_CANCEL_CAP = 2
N_RISK_COUNTERS = 4
