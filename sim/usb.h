/* Sneakernet: a USB stick carried between two laptops on given days.
 *
 * The stick leaves |from| with a real bundle file of what |from| believes
 * |to| lacks (from the vector |to| last sent back; everything the first
 * time), reaches |to| after the carry time and is imported there, and
 * comes back with |to|'s return bundle, whose header carries |to|'s vector
 * so that the next trip is small.
 */
#ifndef SIM_USB_H
#define SIM_USB_H

#include "world.h"

void sim_usb_on_leg(sim_world *w, const sim_event *ev);

#endif
