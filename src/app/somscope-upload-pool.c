/* somscope-upload-pool.c: keeps the X server upload memory of GTK's cairo renderer
 *
 * GTK 4.8's cairo renderer on X11 draws a frame's damage into an image and
 * cairo uploads it to the window through MIT-SHM: it copies the image into a
 * shared segment from a pool of its own and asks the X server to read it.
 * Cairo destroys a pool once nothing in it is in use and the server has
 * read it all, and the next upload then makes a new segment and faults each
 * of its pages in, in the app and again in the X server.  Measured under Xvfb
 * on a 2-core VM (tests/ui/bench-frame-gap): the frame that first shows a
 * document made a new segment for the whole window, 1,200 page faults on
 * each side, and took 46–85 ms (37–56 ms with the server's MIT-SHM turned
 * off); the frame that shows the attack's results, 22–39 ms.
 *
 * An image held for the window's life keeps its pool, and the pages every
 * upload since has written: later uploads reuse them.  This leans on how
 * cairo 1.16 manages its pools (a pool lives while anything is allocated in
 * it; the newest is tried first; blocks are powers of two split in halves);
 * with another policy it costs the image (half a block: 4 MiB for a
 * 1400×900 window, 8 MiB at most) and changes nothing.  Only for the cairo
 * renderer on X11: the GL renderer does not upload this way.
 * /window/upload-pool checks that a document's first frames and
 * whole-window frames after a round trip all use the one segment.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "config.h"

#include "somscope-upload-pool.h"

#ifdef HAVE_CAIRO_XLIB
#include <cairo-xlib.h>
#include <gdk/x11/gdkx.h>

/* The held image is half a block: at most 8 MiB, held for the window's
 * life.  A larger window's whole-window frames (a maximized 4K one) go to
 * pools of cairo's own, as before; its smaller frames still use this one. */
#define MAX_BLOCK ((gsize) 16 * 1024 * 1024)
#endif

/* Returns the image that keeps the pool (destroy it before the display
 * closes, e.g. when the window is unrealized), or NULL where there is
 * nothing to keep.  @window must be realized. */
cairo_surface_t *
somscope_upload_pool_keep (GtkWidget *window)
{
#ifdef HAVE_CAIRO_XLIB
  GdkDisplay *display = gtk_widget_get_display (window);
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  int scale = gtk_widget_get_scale_factor (window);
  int width, height, stride;
  cairo_surface_t *root, *keep;
  gsize block = 1 << 16;
  Display *xdisplay;
  Screen *screen;

  g_return_val_if_fail (gtk_widget_get_realized (window), NULL);

  if (!GDK_IS_X11_DISPLAY (display) || !GSK_IS_CAIRO_RENDERER (renderer))
    return NULL;
  xdisplay = gdk_x11_display_get_xdisplay (display);
  screen = DefaultScreenOfDisplay (xdisplay);
  /* The window's size (its first frame uploads all of it), or the screen's. */
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  width = width > 0 ? width * scale : WidthOfScreen (screen);
  height = height > 0 ? height * scale : HeightOfScreen (screen);
  root = cairo_xlib_surface_create (xdisplay, RootWindowOfScreen (screen),
                                    DefaultVisualOfScreen (screen), 1, 1);
  /* Cairo's pools are eight blocks, each the power of two above the
   * request that made the pool; a request takes the smallest power of two
   * that holds it, split from a larger free block, the rest staying free.
   * This image, over half a block, takes a whole one (nothing left over
   * for an upload to take, unwritten) and keeps the pool.  The window's
   * first frame uploads the whole window: the block it writes is then
   * split by the next uploads, its pages already in. */
  while (block <= (gsize) width * height * 4 && block < MAX_BLOCK)
    block <<= 1;
  /* Similar to an X drawable: in a shared segment where the server has
   * MIT-SHM, a plain image otherwise; rows enough to pass half a block. */
  stride = cairo_format_stride_for_width (CAIRO_FORMAT_ARGB32, width);
  keep = cairo_surface_create_similar_image (root, CAIRO_FORMAT_ARGB32, width, (block / 2 + stride) / stride);
  cairo_surface_destroy (root);
  if (cairo_surface_status (keep) != CAIRO_STATUS_SUCCESS || cairo_surface_get_device (keep) == NULL)
    {
      /* No shared memory: nothing to keep. */
      cairo_surface_destroy (keep);
      return NULL;
    }
  return keep;
#else
  return NULL;
#endif
}
