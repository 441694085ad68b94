//! The allocation rule of an oversubscribed tier (see the crate docs).

/// The licenses allocated to a commitment of `units` at `position` on a tier's line of
/// `committed` licenses of which `supply` are for sale, with random `offset` in
/// `0..committed` (see the crate docs): everything if the tier is not oversubscribed, else
/// `floor((position + units + offset) * supply / committed) - floor((position + offset) *
/// supply / committed)`. Over all commitments of a tier this sums to exactly `supply`.
pub fn allocation(position: u32, units: u32, committed: u32, supply: u32, offset: u32) -> u32 {
    if committed <= supply {
        return units;
    }
    let (p, u, c, s, r) = (
        position as u128,
        units as u128,
        committed as u128,
        supply as u128,
        offset as u128,
    );
    let hi = (p + u + r) * s / c;
    let lo = (p + r) * s / c;
    // `hi - lo <= ceil(u * s / c) <= u`.
    (hi - lo) as u32
}
