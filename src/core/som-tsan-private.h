/* som-tsan-private.h: ThreadSanitizer annotations for hand-overs GLib hides
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Debian's GLib is not built with TSan: its GMutex, GCond, GAsyncQueue,
 * GObject reference counts and GTask's completion synchronise inside an
 * uninstrumented library, so TSan sees the accesses on both sides of a
 * hand-over and not the hand-over itself.  Where Somscope hands data to
 * another thread through GLib it says so: som_tsan_release (p) on the giving
 * side after the last access, som_tsan_acquire (p) on the receiving side
 * before the first.  Without TSan both are nothing.
 */
#pragma once

#if defined(__SANITIZE_THREAD__)
#define SOM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SOM_TSAN 1
#endif
#endif

#ifdef SOM_TSAN
#include <sanitizer/tsan_interface.h>
#define som_tsan_release(p) __tsan_release ((void *) (p))
#define som_tsan_acquire(p) __tsan_acquire ((void *) (p))
#else
#define som_tsan_release(p) ((void) (p))
#define som_tsan_acquire(p) ((void) (p))
#endif

/* In the TSan build this header is included first in every file (meson.build):
 * GMutex and GCond are seen as the locks they are. */
#ifdef SOM_TSAN
#include <glib.h>
#define g_mutex_lock(m) (g_mutex_lock (m), som_tsan_acquire (m))
#define g_mutex_trylock(m) (g_mutex_trylock (m) ? (som_tsan_acquire (m), TRUE) : FALSE)
#define g_mutex_unlock(m) (som_tsan_release (m), g_mutex_unlock (m))
#define g_cond_wait(c, m) (som_tsan_release (m), g_cond_wait ((c), (m)), som_tsan_acquire (m))
#define g_cond_wait_until(c, m, t) \
  (som_tsan_release (m), g_cond_wait_until ((c), (m), (t)) ? (som_tsan_acquire (m), TRUE) : (som_tsan_acquire (m), FALSE))
#endif
