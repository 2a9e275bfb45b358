/*
 * The back camera as the flow's FrameSource: Camera2 with a preview on a TextureView and an
 * ImageReader in YUV_420_888 whose frames go to the flow's `analyze` on one background
 * thread. Back-pressure: the reader holds two images, `acquireLatestImage` drops older ones,
 * and the flow's gate drops a frame while one is analyzed; nothing is queued. The image is
 * closed (returned to the camera) after the call; nothing is written anywhere.
 */
package com.palmkit.app.platform

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.graphics.ImageFormat
import android.hardware.camera2.CameraAccessException
import android.hardware.camera2.CameraCaptureSession
import android.hardware.camera2.CameraCharacteristics
import android.hardware.camera2.CameraDevice
import android.hardware.camera2.CameraManager
import android.hardware.camera2.CaptureRequest
import android.media.Image
import android.media.ImageReader
import android.os.Handler
import android.os.HandlerThread
import android.view.Surface
import android.view.TextureView
import com.palmkit.app.flow.CameraUnavailableException
import com.palmkit.app.flow.EnrollmentFlow
import com.palmkit.app.flow.FrameSource
import com.palmkit.app.flow.Plane
import com.palmkit.app.flow.YuvFrame

class Camera2FrameSource(
    private val context: Context,
    private val flow: EnrollmentFlow,
    private val preview: TextureView,
    /** The display's rotation in degrees (0, 90, 180, 270). */
    private val displayDegrees: () -> Int,
) : FrameSource {
    private var thread: HandlerThread? = null
    private var handler: Handler? = null
    private var device: CameraDevice? = null
    private var session: CameraCaptureSession? = null
    private var reader: ImageReader? = null

    override fun start() {
        if (device != null) return
        if (context.checkSelfPermission(Manifest.permission.CAMERA) != PackageManager.PERMISSION_GRANTED) {
            throw CameraUnavailableException("camera permission not granted")
        }
        val manager = context.getSystemService(CameraManager::class.java)
            ?: throw CameraUnavailableException("this device has no camera service")
        val id = try {
            manager.cameraIdList.firstOrNull {
                manager.getCameraCharacteristics(it).get(CameraCharacteristics.LENS_FACING) == CameraCharacteristics.LENS_FACING_BACK
            }
        } catch (e: CameraAccessException) {
            throw CameraUnavailableException("the camera is disabled or in use")
        } ?: throw CameraUnavailableException("this device has no back camera")
        val sensor = manager.getCameraCharacteristics(id).get(CameraCharacteristics.SENSOR_ORIENTATION) ?: 90
        val worker = HandlerThread("palmkit-camera").apply { start() }
        val workHandler = Handler(worker.looper)
        thread = worker
        handler = workHandler
        val images = ImageReader.newInstance(640, 480, ImageFormat.YUV_420_888, 2)
        images.setOnImageAvailableListener({ r ->
            val image = r.acquireLatestImage() ?: return@setOnImageAvailableListener
            try {
                flow.analyze(image.toFrame((sensor - displayDegrees() + 360) % 360))
            } finally {
                image.close()
            }
        }, workHandler)
        reader = images
        try {
            manager.openCamera(id, object : CameraDevice.StateCallback() {
                override fun onOpened(camera: CameraDevice) {
                    device = camera
                    startSession(camera, images, workHandler)
                }

                override fun onDisconnected(camera: CameraDevice) {
                    camera.close()
                    flow.cameraFailed("the camera is in use by another app")
                }

                override fun onError(camera: CameraDevice, error: Int) {
                    camera.close()
                    flow.cameraFailed(
                        if (error == ERROR_CAMERA_IN_USE || error == ERROR_MAX_CAMERAS_IN_USE) {
                            "the camera is in use by another app"
                        } else {
                            "the camera failed (error $error)"
                        },
                    )
                }
            }, workHandler)
        } catch (e: CameraAccessException) {
            stop()
            throw CameraUnavailableException("the camera is disabled or in use")
        }
    }

    @Suppress("DEPRECATION") // createCaptureSession(List, ...) is the API 28 form.
    private fun startSession(camera: CameraDevice, images: ImageReader, workHandler: Handler) {
        val targets = mutableListOf(images.surface)
        preview.surfaceTexture?.let {
            it.setDefaultBufferSize(640, 480)
            targets.add(Surface(it))
        }
        camera.createCaptureSession(targets, object : CameraCaptureSession.StateCallback() {
            override fun onConfigured(s: CameraCaptureSession) {
                session = s
                val request = camera.createCaptureRequest(CameraDevice.TEMPLATE_PREVIEW).apply {
                    targets.forEach { addTarget(it) }
                    set(CaptureRequest.CONTROL_AF_MODE, CaptureRequest.CONTROL_AF_MODE_CONTINUOUS_PICTURE)
                }.build()
                s.setRepeatingRequest(request, null, workHandler)
            }

            override fun onConfigureFailed(s: CameraCaptureSession) {
                flow.cameraFailed("the camera could not be configured")
            }
        }, workHandler)
    }

    override fun stop() {
        session?.close()
        session = null
        device?.close()
        device = null
        reader?.close()
        reader = null
        thread?.quitSafely()
        thread = null
        handler = null
    }
}

/** The Image's three planes, lent for one call (the Image is closed after it). */
private fun Image.toFrame(rotationDegrees: Int): YuvFrame {
    val (y, u, v) = planes
    return YuvFrame(
        width, height,
        Plane(y.buffer, y.rowStride, y.pixelStride),
        Plane(u.buffer, u.rowStride, u.pixelStride),
        Plane(v.buffer, v.rowStride, v.pixelStride),
        rotationDegrees, mirrored = false, timestampMs = timestamp / 1_000_000,
    )
}
