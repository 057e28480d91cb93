/* Enrollments written on the spot for the unit tests that need a roster
 * in a real store. */
#ifndef FM_TEST_ENROLLED_H
#define FM_TEST_ENROLLED_H

#include "fieldmesh/enroll.h"
#include "fieldmesh/store.h"

/* Appends to |s| the authority |auth|'s enrollment of |dev| as |role| of
 * |team| in commune "Tân Quang", named |name|, at |ms|.  Fails the running
 * cmocka test on any error. */
void enrolled_append(fm_store *s, const fm_identity *auth, const fm_identity *dev, fm_role role,
                     const char *name, const char *team, fm_time ms);

#endif
