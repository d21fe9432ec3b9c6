/** The gbcast web console: devices and their channels, live video, streams, the streamer pool. */
import { render } from 'preact';
import { App } from './app.tsx';
import './styles.css';

render(<App />, document.getElementById('app')!);
